import { randomUUID } from 'node:crypto';
import { fans, type Database, type FanChangeNotifier, type Transaction } from '@fannotes/db';
import { eq, sql } from 'drizzle-orm';
import { ApiError } from '../errors.ts';
import type { FanRow } from './authz.ts';

/**
 * One write to one fan's notes. Every write holds the fan row's lock for its whole (short) transaction
 * and stamps what it changes with `version`, the fan's next version; the fan's counter is bumped once,
 * at the end, only if something was stamped. So versions are assigned in commit order of the fan's
 * writes, and a cursor (a version) never skips a late commit.
 */
export interface FanWrite {
  tx: Transaction;
  /** The fan row as locked at the start of this transaction. */
  fan: FanRow;
  version: number;
  now: Date;
  userId: string;
  /** The sync client making the change; null for plain REST calls. */
  clientId: string | null;
  /** Set by whatever stamps a row with `version`. */
  touched: boolean;
  /** How many more (or fewer) of the fan's notes are live after this write (fans.live_note_count). */
  liveDelta: number;
  /**
   * Set when this answers a repeat of a write already made (an idempotent replay): its first answer,
   * and with it perhaps its poke, may have been lost, so the fan's current version is poked again.
   */
  repeat?: boolean;
}

export function newNoteId(): string {
  return `note_${randomUUID()}`;
}

/**
 * Runs `work` in the fan's write transaction; once it has committed, pokes the fan's new version to
 * every API process (packages/db/src/notify.ts: within milliseconds, batched, not waited for).
 */
export async function withFanWrite<T>(
  deps: { db: Database; pokes?: FanChangeNotifier },
  fanRowId: string,
  who: { userId: string; clientId: string | null; now: Date },
  work: (write: FanWrite) => Promise<T>,
  fanUpdate: (write: FanWrite) => Partial<typeof fans.$inferInsert> = () => ({}),
): Promise<T> {
  let committed: FanWrite | undefined;
  const result = await deps.db.transaction(async (tx) => {
    const [fan] = await tx.select().from(fans).where(eq(fans.id, fanRowId)).for('update');
    if (!fan) throw new ApiError('resource_not_found', 'Fan not found.');
    const write: FanWrite = { tx, fan, version: fan.version + 1, touched: false, liveDelta: 0, ...who };
    committed = write;
    const result = await work(write);
    const extra = fanUpdate(write);
    if (write.touched || Object.keys(extra).length > 0) {
      const bump = write.touched
        ? {
            version: write.version,
            updatedAt: who.now,
            liveNoteCount: sql`${fans.liveNoteCount} + ${write.liveDelta}`,
          }
        : {};
      await tx
        .update(fans)
        .set({ ...bump, ...extra })
        .where(eq(fans.id, fanRowId));
    }
    return result;
  });
  if (committed && (committed.touched || committed.repeat)) {
    const { fan, touched, version } = committed;
    void deps.pokes?.announce([
      { accountId: fan.accountId, fanId: fan.fanId, version: touched ? version : fan.version },
    ]);
  }
  return result;
}
