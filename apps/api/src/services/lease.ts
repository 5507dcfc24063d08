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
  const { holder, expiresAt } = newLease(now, leaseMs);
  const taken = await db
    .insert(syncLeases)
    .values({ fanRowId, holder, acquiredAt: now, expiresAt })
    .onConflictDoUpdate({
      target: syncLeases.fanRowId,
      set: { holder, acquiredAt: now, expiresAt },
      setWhere: lt(syncLeases.expiresAt, now),
    })
    .returning({ holder: syncLeases.holder });
  if (taken.length === 0) await leaseBusy(db, fanRowId, now);
  return holder;
}

/** A new lease: the holder token only its request knows, and when it lapses if never released. */
export function newLease(now: Date, leaseMs: number): { holder: string; now: Date; expiresAt: Date } {
  return { holder: randomUUID(), now, expiresAt: new Date(now.getTime() + leaseMs) };
}

/** The fan's lease is held by a live holder: 409 with Retry-After until it lapses (1 to 5 s). */
export async function leaseBusy(db: Database, fanRowId: string, now: Date): Promise<never> {
  const [current] = await db
    .select({ expiresAt: syncLeases.expiresAt })
    .from(syncLeases)
    .where(eq(syncLeases.fanRowId, fanRowId));
  const waitMs = current ? current.expiresAt.getTime() - now.getTime() : 1000;
  throw new ApiError('sync_in_progress', 'A synchronisation of this fan is already in progress.', {
    retryAfterSeconds: Math.min(Math.max(waitMs / 1000, 1), 5),
  });
}

/** Releases the lease if this holder still has it (an expired lease may have been taken over). */
export async function releaseLease(db: Database, fanRowId: string, holder: string): Promise<void> {
  await db.delete(syncLeases).where(and(eq(syncLeases.fanRowId, fanRowId), eq(syncLeases.holder, holder)));
}
