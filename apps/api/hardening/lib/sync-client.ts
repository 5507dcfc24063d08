import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Mutation, SyncNotesData } from '@fannotes/contract';
import { sql } from 'drizzle-orm';
import { rows } from './database.ts';
import type { Database } from '@fannotes/db';
import { callEndpoint, endpoints } from './endpoints.ts';
import { dataOf, outcomeOf, type Reply, type Surface } from './http.ts';

const syncEndpoint = endpoints.find((endpoint) => endpoint.procedure === 'notes.sync')!;

export interface Exchange {
  status: number;
  code: string;
  ms: number;
  retryAfter: number | null;
  /** When the request was sent (ms since epoch). */
  at: number;
}

/**
 * One installed extension, as the protocol expects it to behave: every change goes into an outbox of
 * numbered mutations; a sync sends what is not acknowledged yet and drops what `lastMutationId`
 * acknowledges; 409 and 503 are retried after Retry-After. It edits only notes it created, so its own
 * model of them is exactly what the server must hold once the outbox is empty.
 */
export class SyncClient {
  readonly clientId = randomUUID();
  private nextId = 1;
  private outbox: Mutation[] = [];
  private cursor: string | undefined;
  /** What this client's notes must be once everything is acknowledged. */
  readonly model = new Map<string, { content: string; deleted: boolean }>();
  readonly exchanges: Exchange[] = [];

  constructor(
    readonly fanId: string,
    private readonly token: string,
    private readonly surfaces: Surface[] = ['rest', 'trpc'],
  ) {}

  get pending(): number {
    return this.outbox.length;
  }

  /** A random change: create a note, edit or delete one of its own; at most `maxLive` notes live. */
  change(random: () => number = Math.random, maxLive = Infinity): void {
    const live = [...this.model].filter(([, note]) => !note.deleted).map(([id]) => id);
    const roll = random();
    if (live.length >= maxLive) {
      const noteId = live[Math.floor(random() * live.length)]!;
      this.push({ id: this.nextId, op: 'delete', noteId, baseVersion: 0 });
      this.model.set(noteId, { content: this.model.get(noteId)!.content, deleted: true });
    } else if (live.length === 0 || roll < 0.45) {
      const noteId = `note_${randomUUID()}`;
      const content = `Note ${this.nextId} of ${this.clientId.slice(0, 8)}`;
      this.push({ id: this.nextId, op: 'upsert', noteId, baseVersion: 0, note: { content } });
      this.model.set(noteId, { content, deleted: false });
    } else if (roll < 0.85 || live.length < 3) {
      const noteId = live[Math.floor(random() * live.length)]!;
      const content = `Edit ${this.nextId} of ${this.clientId.slice(0, 8)}`;
      this.push({ id: this.nextId, op: 'upsert', noteId, baseVersion: 0, note: { content } });
      this.model.set(noteId, { content, deleted: false });
    } else {
      const noteId = live[Math.floor(random() * live.length)]!;
      this.push({ id: this.nextId, op: 'delete', noteId, baseVersion: 0 });
      this.model.set(noteId, { content: this.model.get(noteId)!.content, deleted: true });
    }
  }

  private push(mutation: Mutation): void {
    this.outbox.push(mutation);
    this.nextId++;
  }

  /** One sync: the outbox (at most 20), the cursor. Never throws for an HTTP answer; a network error is thrown. */
  async sync(base: string): Promise<Exchange> {
    const surface = this.surfaces[this.exchanges.length % this.surfaces.length]!;
    const input = {
      fanId: this.fanId,
      clientId: this.clientId,
      ...(this.cursor ? { cursor: this.cursor } : {}),
      ...(this.outbox.length ? { mutations: this.outbox.slice(0, 20) } : {}),
    };
    const at = Date.now();
    const reply: Reply = await callEndpoint(base, syncEndpoint, surface, input, { token: this.token });
    const outcome = outcomeOf(reply);
    const retryAfter = reply.headers.get('retry-after');
    const exchange: Exchange = {
      status: outcome.status,
      code: outcome.code,
      ms: reply.ms,
      retryAfter: retryAfter === null ? null : Number(retryAfter),
      at,
    };
    this.exchanges.push(exchange);
    if (outcome.code === 'success') {
      const data = dataOf<SyncNotesData>(reply);
      const acknowledged = data.lastMutationId ?? 0;
      for (const result of data.results) {
        if (result.status === 'rejected' || result.status === 'conflict') {
          throw new Error(
            `mutation ${result.id} of a client's own note was ${result.status}: ${JSON.stringify(result)}`,
          );
        }
      }
      this.outbox = this.outbox.filter((mutation) => mutation.id > acknowledged);
      if (!data.more) this.cursor = data.cursor;
    }
    return exchange;
  }

  /**
   * Syncs until the outbox is empty, against any of `bases` (a client retries elsewhere), waiting
   * Retry-After (capped at `maxWaitMs`) after a 409 or 503. Fails after `deadlineMs`.
   */
  async drain(bases: () => string[], deadlineMs: number, maxWaitMs = 250): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    for (let attempt = 0; this.outbox.length > 0; attempt++) {
      if (Date.now() > deadline)
        throw new Error(`client ${this.clientId} still has ${this.outbox.length} unacknowledged mutations`);
      const all = bases();
      let exchange: Exchange;
      try {
        exchange = await this.sync(all[attempt % all.length]!);
      } catch (error) {
        // The process died under the request (SIGKILL): a client retries.
        if (isNetworkError(error)) {
          await delay(50);
          continue;
        }
        throw error;
      }
      if (exchange.code !== 'success') await delay(Math.min((exchange.retryAfter ?? 1) * 1000, maxWaitMs));
    }
  }

  /** Differences between this client's model and the database: each is a row lost or wrong. */
  async differences(db: Database): Promise<string[]> {
    const ids = [...this.model.keys()];
    if (ids.length === 0) return [];
    const stored = await rows<{
      id: string;
      content: string;
      deleted_at: Date | null;
      conflict_of: string | null;
    }>(
      db,
      sql`select id, content, deleted_at, conflict_of from notes where id in (${sql.join(
        ids.map((id) => sql`${id}`),
        sql`, `,
      )})
          or conflict_of in (${sql.join(
            ids.map((id) => sql`${id}`),
            sql`, `,
          )})`,
    );
    const problems: string[] = [];
    for (const [id, note] of this.model) {
      const row = stored.find((candidate) => candidate.id === id);
      if (!row) problems.push(`${id} missing`);
      else if (row.content !== note.content)
        problems.push(`${id} holds ${JSON.stringify(row.content)}, not ${JSON.stringify(note.content)}`);
      else if ((row.deleted_at !== null) !== note.deleted)
        problems.push(`${id} deleted: ${row.deleted_at !== null}, expected ${note.deleted}`);
    }
    for (const row of stored)
      if (row.conflict_of) problems.push(`${row.id}: a conflict copy of ${row.conflict_of}`);
    return problems;
  }
}

export function isNetworkError(error: unknown): boolean {
  return error instanceof TypeError && /fetch failed/.test(error.message);
}
