import type { Mutation } from '@fannotes/contract';
import { MAX_MUTATIONS_PER_SYNC } from '@fannotes/contract';
import { KEYS, type ClientState, type OutboxEntry } from './model.ts';
import type { Store } from './store.ts';

type Parked = { client: ClientState; outbox: OutboxEntry[] };
const parkedKey = (userId: string) => `parked:${userId}`;

/** A mutation before the outbox numbers it. */
export type UnnumberedMutation =
  Omit<Extract<Mutation, { op: 'upsert' }>, 'id'> | Omit<Extract<Mutation, { op: 'delete' }>, 'id'>;

/**
 * The outbox: every change the user made that the server has not acknowledged, persisted before
 * anything is sent. Invariants:
 * - a mutation is written to storage, with the advanced counter, in one write, before any request
 *   could carry it; ids count 1, 2, 3... per client id and are never reused;
 * - entries leave only when a response's `lastMutationId` covers them (the server applied, rejected
 *   or already had them), so a lost response means a resend, which the server answers `duplicate`;
 * - the client id belongs to one user (the API refuses another's): when someone else signs in, the
 *   previous user's client and outbox are parked under their id and come back when they do.
 * All reads-modify-writes run one after another, so concurrent messages cannot interleave them.
 */
export class Outbox {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly newClientId: () => string,
  ) {}

  /** The client of `userId`, switching users (and outboxes) if another one was signed in. */
  client(userId: string): Promise<ClientState> {
    return this.serial(() => this.clientFor(userId));
  }

  /** Numbers `mutation`, checks it with `validate` (which may throw) and stores it. */
  enqueue(
    userId: string,
    fanId: string,
    mutation: UnnumberedMutation,
    now: number,
    validate: (mutation: Mutation) => Mutation = (m) => m,
  ): Promise<OutboxEntry> {
    return this.serial(async () => {
      const client = await this.clientFor(userId);
      const outbox = await this.read();
      const entry: OutboxEntry = {
        fanId,
        mutation: validate({ ...mutation, id: client.nextMutationId }),
        enqueuedAt: now,
      };
      await this.store.set({
        [KEYS.client]: { ...client, nextMutationId: client.nextMutationId + 1 },
        [KEYS.outbox]: [...outbox, entry],
      });
      return entry;
    });
  }

  entries(): Promise<OutboxEntry[]> {
    return this.serial(() => this.read());
  }

  /** Drops every entry the server has processed; returns what is left. */
  acknowledge(lastMutationId: number): Promise<OutboxEntry[]> {
    return this.serial(async () => {
      const outbox = await this.read();
      const left = outbox.filter((entry) => entry.mutation.id > lastMutationId);
      if (left.length !== outbox.length) await this.store.set({ [KEYS.outbox]: left });
      return left;
    });
  }

  private async clientFor(userId: string): Promise<ClientState> {
    const current = await this.store.get<ClientState>(KEYS.client);
    if (current?.userId === userId) return current;
    const parked = await this.store.get<Parked>(parkedKey(userId));
    const next: ClientState = parked?.client ?? { userId, clientId: this.newClientId(), nextMutationId: 1 };
    const items: Record<string, unknown> = { [KEYS.client]: next, [KEYS.outbox]: parked?.outbox ?? [] };
    if (current) items[parkedKey(current.userId)] = { client: current, outbox: await this.read() };
    await this.store.set(items);
    if (parked) await this.store.remove(parkedKey(userId));
    return next;
  }

  private async read(): Promise<OutboxEntry[]> {
    return (await this.store.get<OutboxEntry[]>(KEYS.outbox)) ?? [];
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/**
 * What the next request may carry: the oldest entries, as long as they are about the same fan, at most
 * a request's worth. Mutation ids are one sequence per client across all fans and the server stops at a
 * gap, so the outbox drains strictly from its head, one fan's run at a time.
 */
export function nextBatch(outbox: readonly OutboxEntry[]): { fanId: string; mutations: Mutation[] } | null {
  const head = outbox[0];
  if (!head) return null;
  const mutations: Mutation[] = [];
  for (const entry of outbox) {
    if (entry.fanId !== head.fanId || mutations.length === MAX_MUTATIONS_PER_SYNC) break;
    mutations.push(entry.mutation);
  }
  return { fanId: head.fanId, mutations };
}
