import type { Mutation } from '@fannotes/contract';
import { MAX_MUTATIONS_PER_SYNC } from '@fannotes/contract';
import { KEYS, type ClientState, type OutboxEntry, type UnsavedEdit } from './model.ts';
import type { Store } from './store.ts';

type Parked = { client: ClientState; outbox: OutboxEntry[]; unsaved?: UnsavedEdit[] };
const parkedKey = (userId: string) => `parked:${userId}`;

/** A mutation before the outbox numbers it. */
export type UnnumberedMutation =
  Omit<Extract<Mutation, { op: 'upsert' }>, 'id'> | Omit<Extract<Mutation, { op: 'delete' }>, 'id'>;

/**
 * The outbox: every change the user made that the server has not acknowledged, persisted before
 * anything is sent. Invariants:
 * - a mutation is written to storage, with the advanced counter, in one write, before any request
 *   could carry it; ids count 1, 2, 3... per client id and are never reused;
 * - entries leave only when a `lastMutationId` from the server covers them (it applied, rejected,
 *   refused or already had them), so a lost response means a resend, which the server answers
 *   `duplicate`; one the server would not save leaves into the unsaved list in the same write, so an
 *   edit is always in one of the two until its author dismisses it;
 * - the outbox's ids run on from the server's last processed id without a gap (the server stops at
 *   one): entries leave from the head, and only `requeue` renumbers, entries never sent;
 * - the client id belongs to one user (the API refuses another's): when someone else signs in, the
 *   previous user's client, outbox and unsaved list are parked under their id and come back when they do.
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
    return this.settle(lastMutationId, [], 0);
  }

  /**
   * Drops every entry the server has processed, moving those it would not save (`unsaved`, by id)
   * to the unsaved list in the same write; returns what is left in the outbox.
   */
  settle(
    lastMutationId: number,
    unsaved: readonly { id: number; kind: UnsavedEdit['kind']; code: string | null; reason: string }[],
    now: number,
  ): Promise<OutboxEntry[]> {
    return this.serial(async () => {
      const outbox = await this.read();
      const left = outbox.filter((entry) => entry.mutation.id > lastMutationId);
      if (left.length === outbox.length) return left;
      const why = new Map(unsaved.map((item) => [item.id, item]));
      const added: UnsavedEdit[] = outbox.flatMap((entry) => {
        const item = entry.mutation.id <= lastMutationId ? why.get(entry.mutation.id) : undefined;
        return item ? [{ ...entry, kind: item.kind, code: item.code, reason: item.reason, at: now }] : [];
      });
      const items: Record<string, unknown> = { [KEYS.outbox]: left };
      if (added.length > 0) items[KEYS.unsaved] = [...(await this.readUnsaved()), ...added];
      await this.store.set(items);
      return left;
    });
  }

  /**
   * After a refusal the server recorded as processing `ids` (up to `lastMutationId`), puts those
   * entries back at the head of the outbox to be sent again (their fan was registered meanwhile). The
   * server will never take their old ids again, so they and every entry after them are renumbered
   * from `lastMutationId + 1`, in the same order: appended at the tail instead, a later edit of the
   * same note would overtake them. Safe because none of the renumbered ids was ever sent: a request
   * carries the outbox's head, and the refusal's `lastMutationId` covers the refused request.
   */
  requeue(lastMutationId: number, ids: readonly number[]): Promise<OutboxEntry[]> {
    return this.serial(async () => {
      const outbox = await this.read();
      const again = new Set(ids);
      const kept = [
        ...outbox.filter((entry) => entry.mutation.id <= lastMutationId && again.has(entry.mutation.id)),
        ...outbox.filter((entry) => entry.mutation.id > lastMutationId),
      ].map((entry, index) => ({
        ...entry,
        mutation: { ...entry.mutation, id: lastMutationId + 1 + index },
      }));
      const client = await this.store.get<ClientState>(KEYS.client);
      await this.store.set({
        [KEYS.outbox]: kept,
        ...(client ? { [KEYS.client]: { ...client, nextMutationId: lastMutationId + 1 + kept.length } } : {}),
      });
      return kept;
    });
  }

  /** The signed-in user's edits the API would not save, oldest first. */
  unsaved(): Promise<UnsavedEdit[]> {
    return this.serial(() => this.readUnsaved());
  }

  /** Forgets an unsaved edit (its author has seen it, copied its text, or does not want it). */
  dismiss(id: number): Promise<void> {
    return this.serial(async () => {
      const unsaved = await this.readUnsaved();
      const left = unsaved.filter((item) => item.mutation.id !== id);
      if (left.length !== unsaved.length) await this.store.set({ [KEYS.unsaved]: left });
    });
  }

  /**
   * Sends an unsaved edit again (its author's role was restored, say): the same change, with a new
   * id at the tail of the outbox, in the same write as it leaves the unsaved list. Null when it is
   * no longer there (dismissed, or already tried again).
   */
  retry(
    userId: string,
    id: number,
    now: number,
    validate: (mutation: Mutation) => Mutation = (m) => m,
  ): Promise<OutboxEntry | null> {
    return this.serial(async () => {
      const client = await this.clientFor(userId);
      const unsaved = await this.readUnsaved();
      const item = unsaved.find((candidate) => candidate.mutation.id === id);
      if (!item) return null;
      const entry: OutboxEntry = {
        fanId: item.fanId,
        mutation: validate({ ...item.mutation, id: client.nextMutationId }),
        enqueuedAt: now,
      };
      await this.store.set({
        [KEYS.client]: { ...client, nextMutationId: client.nextMutationId + 1 },
        [KEYS.outbox]: [...(await this.read()), entry],
        [KEYS.unsaved]: unsaved.filter((candidate) => candidate !== item),
      });
      return entry;
    });
  }

  private async clientFor(userId: string): Promise<ClientState> {
    const current = await this.store.get<ClientState>(KEYS.client);
    if (current?.userId === userId) return current;
    const parked = await this.store.get<Parked>(parkedKey(userId));
    const next: ClientState = parked?.client ?? { userId, clientId: this.newClientId(), nextMutationId: 1 };
    const items: Record<string, unknown> = {
      [KEYS.client]: next,
      [KEYS.outbox]: parked?.outbox ?? [],
      [KEYS.unsaved]: parked?.unsaved ?? [],
    };
    if (current) {
      items[parkedKey(current.userId)] = {
        client: current,
        outbox: await this.read(),
        unsaved: await this.readUnsaved(),
      } satisfies Parked;
    }
    await this.store.set(items);
    if (parked) await this.store.remove(parkedKey(userId));
    return next;
  }

  private async read(): Promise<OutboxEntry[]> {
    return (await this.store.get<OutboxEntry[]>(KEYS.outbox)) ?? [];
  }

  private async readUnsaved(): Promise<UnsavedEdit[]> {
    return (await this.store.get<UnsavedEdit[]>(KEYS.unsaved)) ?? [];
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/**
 * Most bytes of mutations (as JSON) one request carries. The API refuses a body over 256 KiB with 413,
 * which nothing records: a batch over it would hold the outbox for ever. Half of it leaves room for
 * the fan's OnlyFans note and the other fields; one mutation (5,000 characters) is far below it.
 */
export const MAX_BATCH_BYTES = 128 * 1024;

const encoder = new TextEncoder();

/**
 * What the next request may carry: the oldest entries, as long as they are about the same fan, at most
 * a request's worth (100 mutations, MAX_BATCH_BYTES; always the head). Mutation ids are one sequence
 * per client across all fans and the server stops at a gap, so the outbox drains strictly from its
 * head, one fan's run at a time.
 */
export function nextBatch(outbox: readonly OutboxEntry[]): { fanId: string; mutations: Mutation[] } | null {
  const head = outbox[0];
  if (!head) return null;
  const mutations: Mutation[] = [];
  let bytes = 0;
  for (const entry of outbox) {
    if (entry.fanId !== head.fanId || mutations.length === MAX_MUTATIONS_PER_SYNC) break;
    bytes += encoder.encode(JSON.stringify(entry.mutation)).length + 1;
    if (mutations.length > 0 && bytes > MAX_BATCH_BYTES) break;
    mutations.push(entry.mutation);
  }
  return { fanId: head.fanId, mutations };
}
