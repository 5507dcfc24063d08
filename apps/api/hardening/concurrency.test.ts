import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { SyncNotesData } from '@fannotes/contract';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  apiBackends,
  createHardeningDatabase,
  holdLock,
  leasesHeld,
  one,
  rows,
  seedAccount,
  seedNote,
  type HardeningDatabase,
  type SeededAccount,
} from './lib/database.ts';
import { callEndpoint, endpoints } from './lib/endpoints.ts';
import { latencySummary, recordFigures, Tally } from './lib/figures.ts';
import { dataOf, outcomeOf, statuses, type Reply, type Surface } from './lib/http.ts';
import { alive, errorLogs, startApi, waitFor, type ApiProcess } from './lib/processes.ts';
import { tokenFor } from './lib/tokens.ts';

// Concurrency: two API processes on one PostgreSQL database. 50 simultaneous syncs of one fan (each
// answered, or 409 with Retry-After; no 5xx), retried as clients retry until every one is applied:
// every note exactly once, every text kept. Syncs of different fans do not wait for each other, even
// while one fan's sync is stuck on a lock. test/multi-process.test.ts shows 20 syncs and one client's
// overlapping batches; this one has 50 clients of 50 users and a blocked neighbour.

const CLIENTS = 50;
let db: HardeningDatabase;
let apis: ApiProcess[];
const figures: Record<string, unknown> = {};

beforeAll(async () => {
  db = await createHardeningDatabase();
  // Production throttle and lease settings; only the per-user budget is off (startApi's default).
  apis = await Promise.all([startApi('A', db.url), startApi('B', db.url)]);
}, 90_000);

afterAll(async () => {
  await Promise.all((apis ?? []).map((api) => api.stop()));
  await db?.close();
  recordFigures('concurrency', {
    ...figures,
    requests: statuses.total,
    byStatus: statuses.counts,
    serverErrors: statuses.serverErrors,
  });
}, 60_000);

const sync = endpoints.find((endpoint) => endpoint.procedure === 'notes.sync')!;

function send(api: ApiProcess, surface: Surface, token: string, input: unknown): Promise<Reply> {
  return callEndpoint(api.url, sync, surface, input, { token });
}

describe('50 simultaneous syncs of one fan through two processes', () => {
  let account: SeededAccount;
  let sharedNote: string;
  const clients: {
    userId: string;
    token: string;
    clientId: string;
    created: string;
    text: string;
    body: unknown;
  }[] = [];

  beforeAll(async () => {
    const extra = Object.fromEntries(
      Array.from({ length: CLIENTS }, (_, i) => [`chatter${i}`, 'chatter' as const]),
    );
    account = await seedAccount(db.admin, { fanIds: ['12345'], extra });
    sharedNote = await seedNote(db.admin, account, '12345', { content: 'Shared: likes cats.' });
    for (let i = 0; i < CLIENTS; i++) {
      const userId = account.users[`chatter${i}`]!;
      const created = `note_${randomUUID()}`;
      const text = `Chatter ${i}'s view: ${randomUUID()}`;
      const clientId = randomUUID();
      clients.push({
        userId,
        token: await tokenFor(userId),
        clientId,
        created,
        text,
        // Each client creates a note and edits the shared one, based on the version it last saw (1).
        body: {
          fanId: '12345',
          clientId,
          mutations: [
            {
              id: 1,
              op: 'upsert',
              noteId: created,
              baseVersion: 0,
              note: { content: `Created by chatter ${i}.` },
            },
            { id: 2, op: 'upsert', noteId: sharedNote, baseVersion: 1, note: { content: text } },
          ],
        },
      });
    }
  });

  /** Sends every client's request at once; returns each reply (an exception fails the test: no answer). */
  const burst = () =>
    Promise.all(
      clients.map((client, i) => send(apis[i % 2]!, i % 4 < 2 ? 'rest' : 'trpc', client.token, client.body)),
    );

  /** Retries a client's request until it is answered 200, honouring Retry-After (capped to stay quick). */
  async function untilApplied(index: number, tally: Tally, latencies: number[]): Promise<SyncNotesData> {
    const client = clients[index]!;
    for (let attempt = 1; ; attempt++) {
      const reply = await send(
        apis[(index + attempt) % 2]!,
        attempt % 2 ? 'trpc' : 'rest',
        client.token,
        client.body,
      );
      latencies.push(reply.ms);
      const outcome = outcomeOf(reply);
      tally.add(outcome.status);
      if (outcome.code === 'success') return dataOf<SyncNotesData>(reply);
      expect(outcome.code).toBe('sync_in_progress');
      await delay(Math.min(Number(reply.headers.get('retry-after')) * 1000, 20 + Math.random() * 80));
      if (attempt > 500) throw new Error(`client ${index} was never applied`);
    }
  }

  test('each is answered 200 or 409 with Retry-After; retried, every note is there exactly once and no text is lost', async () => {
    const first = new Tally();
    const latencies: number[] = [];
    const replies = await burst();
    for (const reply of replies) {
      const outcome = outcomeOf(reply);
      first.add(outcome.status);
      latencies.push(reply.ms);
      expect(['success', 'sync_in_progress']).toContain(outcome.code);
    }
    expect(first.get(200)).toBeGreaterThan(0);

    const retries = new Tally();
    const applied = await Promise.all(
      replies.map((reply, i) =>
        reply.status === 200
          ? Promise.resolve(dataOf<SyncNotesData>(reply))
          : untilApplied(i, retries, latencies),
      ),
    );
    for (const data of applied) expect(data.lastMutationId).toBe(2);

    const notes = await rows<{
      id: string;
      content: string;
      conflict_of: string | null;
      deleted_at: Date | null;
    }>(
      db.admin,
      sql`select id, content, conflict_of, deleted_at from notes where fan_row_id = ${account.fans['12345']!}`,
    );
    // Every created note exactly once, with its text.
    for (const [i, client] of clients.entries()) {
      expect(notes.filter((note) => note.id === client.created).map((note) => note.content)).toEqual([
        `Created by chatter ${i}.`,
      ]);
    }
    // Every client's edit of the shared note is kept exactly once: as its text, or as a conflict copy.
    const sharedTexts = notes
      .filter((note) => note.id === sharedNote || note.conflict_of === sharedNote)
      .map((note) => note.content);
    expect(sharedTexts.sort()).toEqual(clients.map((client) => client.text).sort());
    expect(notes).toHaveLength(CLIENTS * 2);
    expect(notes.every((note) => note.deleted_at === null)).toBe(true);
    const progress = await rows<{ last_mutation_id: number }>(
      db.admin,
      sql`select last_mutation_id from sync_clients where client_id in (${sql.join(
        clients.map((c) => sql`${c.clientId}`),
        sql`, `,
      )})`,
    );
    expect(progress.map((row) => Number(row.last_mutation_id))).toEqual(Array(CLIENTS).fill(2));
    // Every lease ended with its sync (lease.ts: an advisory lock of the sync's transaction).
    expect(await leasesHeld(db.admin)).toBe(0);

    figures.oneFan = {
      simultaneousSyncs: CLIENTS,
      processes: 2,
      firstAnswers: first.counts,
      retries: retries.counts,
      latencyMs: latencySummary(latencies),
      notesExpected: CLIENTS * 2,
      notesFound: notes.length,
      notesLost: CLIENTS * 2 - new Set(notes.map((note) => note.id)).size,
      textsLost: clients.filter((client) => !sharedTexts.includes(client.text)).length,
    };
  }, 120_000);

  test('replaying all 50 at once changes nothing: duplicates only', async () => {
    const before = await rows(db.admin, sql`select * from notes order by id`);
    const replays = new Tally();
    const latencies: number[] = [];
    const replies = await burst();
    const results = await Promise.all(
      replies.map((reply, i) => {
        replays.add(reply.status);
        return reply.status === 200
          ? Promise.resolve(dataOf<SyncNotesData>(reply))
          : untilApplied(i, replays, latencies);
      }),
    );
    for (const data of results) {
      expect(data.results.map((result) => result.status)).toEqual(['duplicate', 'duplicate']);
      expect(data.lastMutationId).toBe(2);
    }
    expect(await rows(db.admin, sql`select * from notes order by id`)).toEqual(before);
    figures.replay = { requests: replays.total, answers: replays.counts, rowsChanged: 0 };
  }, 120_000);
});

describe('syncs of different fans do not block each other', () => {
  // Regression: postgres.js pipelined a statement behind another connection's when the pool was busy,
  // so one other fan's sync waited out the stuck one's 5 s lock timeout (patches/postgres@3.4.9.patch).
  test('while one fan’s sync waits on a lock, 20 other fans sync at once on both processes, none refused or slowed', async () => {
    const fanIds = Array.from({ length: 21 }, (_, i) => String(800_000 + i));
    // A chatter per fan, as a team works: each user's own limits (4 requests at once) stay on.
    const account = await seedAccount(db.admin, {
      fanIds,
      extra: Object.fromEntries(fanIds.map((_, i) => [`chatter${i}`, 'chatter' as const])),
    });
    const tokens = await Promise.all(fanIds.map((_, i) => tokenFor(account.users[`chatter${i}`]!)));
    const [stuckFan, ...others] = fanIds;
    const tokenOf = (i: number) => tokens[i + 1]!;
    // Warm both processes' connections, so that timings are those of running servers.
    await Promise.all(
      others.map((fanId, i) => send(apis[i % 2]!, 'rest', tokenOf(i), { fanId, force: true })),
    );

    // Someone holds the stuck fan's row: its sync waits for it (its first statement locks the fan row).
    const lock = await holdLock(
      db.url,
      sql`select * from fans where id = ${account.fans[stuckFan!]!} for update`,
    );
    const body = (fanId: string) => ({
      fanId,
      clientId: randomUUID(),
      mutations: [
        {
          id: 1,
          op: 'upsert',
          noteId: `note_${randomUUID()}`,
          baseVersion: 0,
          note: { content: `About ${fanId}.` },
        },
      ],
    });
    const stuck = send(apis[0]!, 'rest', tokens[0]!, body(stuckFan!));
    await waitFor(
      'the stuck sync to wait on the row lock',
      async () => (await apiBackends(db.admin)).some((backend) => backend.waiting),
      5_000,
    );

    const started = Date.now();
    const replies = await Promise.all(
      others.map((fanId, i) => send(apis[i % 2]!, i % 2 ? 'trpc' : 'rest', tokenOf(i), body(fanId))),
    );
    const othersMs = Date.now() - started;
    const stillWaiting = (await apiBackends(db.admin)).some((backend) => backend.waiting);
    await lock.release();
    const stuckReply = await stuck;

    for (const reply of replies) expect(outcomeOf(reply).code).toBe('success');
    expect(stillWaiting, 'the stuck sync was still waiting while the others finished').toBe(true);
    expect(othersMs).toBeLessThan(3_000);
    expect(outcomeOf(stuckReply).code).toBe('success');
    figures.otherFans = {
      otherFans: others.length,
      allAnswered200: replies.every((reply) => reply.status === 200),
      othersDoneMs: othersMs,
      latencyMs: latencySummary(replies.map((reply) => reply.ms)),
      blockedSyncAnsweredAfterMs: Math.round(stuckReply.ms),
    };
  }, 60_000);

  test('50 simultaneous syncs of 50 different fans by 50 chatters are all applied, none refused', async () => {
    const fanIds = Array.from({ length: 50 }, (_, i) => String(900_000 + i));
    // A chatter per fan: each user's own limits (4 requests at once) stay on.
    const account = await seedAccount(db.admin, {
      fanIds,
      extra: Object.fromEntries(fanIds.map((_, i) => [`chatter${i}`, 'chatter' as const])),
    });
    const tokens = await Promise.all(fanIds.map((_, i) => tokenFor(account.users[`chatter${i}`]!)));
    const replies = await Promise.all(
      fanIds.map((fanId, i) =>
        send(apis[i % 2]!, i % 2 ? 'trpc' : 'rest', tokens[i]!, {
          fanId,
          clientId: randomUUID(),
          mutations: [
            {
              id: 1,
              op: 'upsert',
              noteId: `note_${randomUUID()}`,
              baseVersion: 0,
              note: { content: `About ${fanId}.` },
            },
          ],
        }),
      ),
    );
    const answers = new Tally();
    for (const reply of replies) answers.add(outcomeOf(reply).status);
    expect(answers.counts).toEqual({ 200: 50 });
    const { count } = await one<{ count: number }>(
      db.admin,
      sql`select count(*)::int as count from notes where account_id = ${account.accountId}`,
    );
    expect(count).toBe(50);
    figures.fiftyFans = {
      answers: answers.counts,
      latencyMs: latencySummary(replies.map((reply) => reply.ms)),
      notes: count,
    };
  }, 60_000);

  test('both processes are up and logged no error', () => {
    for (const api of apis) expect(alive(api)).toBe(true);
    expect(errorLogs(...apis)).toEqual([]);
  });
});
