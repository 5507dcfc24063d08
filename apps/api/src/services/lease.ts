import { sql, type SQL } from 'drizzle-orm';
import { ApiError } from '../errors.ts';

/**
 * A fan's sync lease (DESIGN.md: at most one full sync per fan at a time, across all API processes) is
 * a transaction-scoped PostgreSQL advisory lock on the fan row's id, tried without waiting by the first
 * statement of a full sync. The database releases it when that transaction ends, however it ends:
 * commit, rollback, or the connection dropping because the API process died. So a crashed holder never
 * blocks a fan, taking and releasing it writes nothing, and both ride on statements the sync runs anyway.
 *
 * The key is 64 bits of a hash of the fan row's id, seeded with a constant of ours so that it stays
 * apart from other advisory locks in the database (the migrations' lock).
 */
export function tryTakeLease(fanRowId: SQL): SQL {
  return sql`pg_try_advisory_xact_lock(${leaseKey(fanRowId)})`;
}

/** The advisory lock key of a fan's lease, from its row id (a uuid, or an expression of one). */
export function leaseKey(fanRowId: SQL): SQL {
  return sql`hashtextextended(${fanRowId}::text, ${sql.raw(String(LEASE_KEY_SEED))})`;
}

const LEASE_KEY_SEED = 0x66616e;

/** Another full sync of this fan holds its lease: 409 with Retry-After (a full sync takes milliseconds). */
export function syncInProgress(): ApiError {
  return new ApiError('sync_in_progress', 'A synchronisation of this fan is already in progress.', {
    retryAfterSeconds: 1,
  });
}
