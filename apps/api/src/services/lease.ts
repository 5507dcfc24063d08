import { randomUUID } from 'node:crypto';
import { syncLeases, type Database } from '@fannotes/db';
import { and, eq, lt } from 'drizzle-orm';
import { ApiError } from '../errors.ts';

/**
 * Takes the fan's sync lease: succeeds when no lease row exists or the existing one has expired (its
 * holder crashed or hung), in one statement, so two API processes on one database exclude each other.
 * Returns the holder token needed to release it.
 */
export async function acquireLease(
  db: Database,
  fanRowId: string,
  now: Date,
  leaseMs: number,
): Promise<string> {
  const holder = randomUUID();
  const expiresAt = new Date(now.getTime() + leaseMs);
  const taken = await db
    .insert(syncLeases)
    .values({ fanRowId, holder, acquiredAt: now, expiresAt })
    .onConflictDoUpdate({
      target: syncLeases.fanRowId,
      set: { holder, acquiredAt: now, expiresAt },
      setWhere: lt(syncLeases.expiresAt, now),
    })
    .returning({ holder: syncLeases.holder });
  if (taken.length === 0) {
    const [current] = await db
      .select({ expiresAt: syncLeases.expiresAt })
      .from(syncLeases)
      .where(eq(syncLeases.fanRowId, fanRowId));
    const waitMs = current ? current.expiresAt.getTime() - now.getTime() : 1000;
    throw new ApiError('sync_in_progress', 'A synchronisation of this fan is already in progress.', {
      retryAfterSeconds: Math.min(Math.max(waitMs / 1000, 1), 5),
    });
  }
  return holder;
}

/** Releases the lease if this holder still has it (an expired lease may have been taken over). */
export async function releaseLease(db: Database, fanRowId: string, holder: string): Promise<void> {
  await db.delete(syncLeases).where(and(eq(syncLeases.fanRowId, fanRowId), eq(syncLeases.holder, holder)));
}
