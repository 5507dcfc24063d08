import { sql } from 'drizzle-orm';
import { FAN_CHANGES_CHANNEL, type FanChangeNotification } from './listen.ts';
import type { DatabaseHandle } from './open.ts';

/**
 * A notification's payload must stay under PostgreSQL's 8,000 bytes: changes are sent in chunks of
 * this many (a change is about 100 bytes of JSON).
 */
const CHANGES_PER_NOTIFICATION = 50;

export interface FanChangeNotifier {
  /**
   * Tells every listening process that these fans changed. Call it after the transaction that bumped
   * their versions has committed; there is no need to wait for it. Resolves once the notification is
   * in PostgreSQL's queue (every listener will hear it), or once sending it failed: then it is logged,
   * and the next notification that goes through carries a resync, so listeners tell their streams to
   * pull everything. Never rejects: the write it announces has happened whatever becomes of its poke.
   */
  announce(changes: readonly FanChangeNotification[]): Promise<void>;
  /** Tells every listening process that pokes may have been lost (their streams pull everything). */
  resync(reason: string): Promise<void>;
  /** Sends what is waiting at once and waits for it (graceful shutdown: no poke is left behind). */
  close(): Promise<void>;
}

/**
 * Pokes leave from the API, after the commit, not from a trigger inside the writing transaction: a
 * transaction that notifies holds PostgreSQL's one notification lock from its commit until its WAL is
 * flushed, so with a trigger every note write in the cluster committed one at a time (migration 0006).
 * Here the notification is a statement of its own, which sets `synchronous_commit` off for itself
 * (a notification is never durable anyway), so the lock is held for microseconds and no write waits
 * for another's flush.
 *
 * Pokes are gathered for `batchMs` (5 ms) and leave in one statement, one at a time: under load one
 * statement carries every poke of its window, so the pokes cost a few statements a second, not one
 * per write (a statement per push cost the bench's push of 1 a sixth of its throughput). A process
 * killed inside that window loses those pokes: listen.ts notices a listener gone and every other
 * process then tells its streams to resync, and a process that starts does the same (app.ts).
 */
export function createFanChangeNotifier(
  handle: Pick<DatabaseHandle, 'db'>,
  options: { onError?: (error: Error) => void; batchMs?: number } = {},
): FanChangeNotifier {
  const batchMs = options.batchMs ?? 5;
  type Batch = { changes: FanChangeNotification[]; resyncs: string[]; settle: (() => void)[] };
  const empty = (): Batch => ({ changes: [], resyncs: [], settle: [] });
  let waiting = empty();
  let sending: Promise<void> | undefined;
  let gathering: NodeJS.Timeout | undefined;
  let lost: string | undefined;
  let closed = false;

  const send = async (batch: Batch): Promise<void> => {
    const resyncs = lost === undefined ? batch.resyncs : [lost, ...batch.resyncs];
    // One notification per 50 changes of the batch, so a listener parses a few payloads, not one each.
    const carried = resyncs.map((reason) => JSON.stringify({ resync: reason }));
    for (let start = 0; start < batch.changes.length; start += CHANGES_PER_NOTIFICATION) {
      carried.push(JSON.stringify(batch.changes.slice(start, start + CHANGES_PER_NOTIFICATION)));
    }
    try {
      await handle.db.execute(
        sql`select pg_notify(${FAN_CHANGES_CHANNEL}, payload)
            from (select set_config('synchronous_commit', 'off', true)) as no_flush,
                 json_array_elements_text(${JSON.stringify(carried)}::json) as payload`,
      );
      lost = undefined;
    } catch (error) {
      lost ??= 'pokes could not be sent';
      options.onError?.(error instanceof Error ? error : new Error(String(error)));
    }
  };

  const flush = () => {
    gathering = undefined;
    if (sending || waiting.settle.length === 0) return;
    const batch = waiting;
    waiting = empty();
    sending = send(batch).finally(() => {
      sending = undefined;
      for (const settle of batch.settle) settle();
      pump();
    });
  };

  const pump = () => {
    if (sending || gathering || waiting.settle.length === 0) return;
    if (closed) flush();
    else gathering = setTimeout(flush, batchMs);
  };

  const enqueue = (add: (batch: Batch) => void): Promise<void> =>
    new Promise<void>((resolve) => {
      add(waiting);
      waiting.settle.push(resolve);
      pump();
    });

  return {
    announce: (changes) => {
      if (changes.length === 0) return Promise.resolve();
      return enqueue((batch) => {
        for (const { accountId, fanId, version } of changes)
          batch.changes.push({ accountId, fanId, version });
      });
    },
    resync: (reason) => enqueue((batch) => batch.resyncs.push(reason)),
    // What is waiting leaves at once; what is announced after this still goes out (a request that was
    // running when the server began to close).
    close: async () => {
      closed = true;
      clearTimeout(gathering);
      flush();
      while (sending) await sending;
    },
  };
}
