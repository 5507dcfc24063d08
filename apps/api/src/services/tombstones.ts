import { notes } from '@fannotes/db';
import { and, eq, lt, max } from 'drizzle-orm';
import type { FanWrite } from './fan-transaction.ts';

/**
 * Deletes the fan's tombstones older than the horizon and returns the highest version purged (or the
 * fan's previous horizon). A client whose cursor is older than that can no longer learn of those
 * deletions from a delta, so its next sync is a reset to the full set.
 */
export async function purgeTombstones(write: FanWrite, ttlMs: number): Promise<number> {
  const horizon = new Date(write.now.getTime() - ttlMs);
  const purged = write.tx.$with('purged').as(
    write.tx
      .delete(notes)
      .where(and(eq(notes.fanRowId, write.fan.id), lt(notes.deletedAt, horizon)))
      .returning({ version: notes.version }),
  );
  const [row] = await write.tx
    .with(purged)
    .select({ version: max(purged.version) })
    .from(purged);
  return Math.max(write.fan.purgedThroughVersion, row?.version ?? 0);
}
