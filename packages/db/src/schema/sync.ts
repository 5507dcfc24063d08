import { bigint, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { fans } from './fans.ts';

/**
 * At most one full sync per fan at a time, across all API processes: a row per fan, taken with an
 * upsert that succeeds only when the row is absent or expired, so a crashed holder cannot wedge a fan.
 */
export const syncLeases = pgTable('sync_leases', {
  fanRowId: uuid('fan_row_id')
    .primaryKey()
    .references(() => fans.id, { onDelete: 'cascade' }),
  /** A random token of the request that holds the lease; only it may release the lease. */
  holder: text('holder').notNull(),
  acquiredAt: timestamp('acquired_at', { withTimezone: true }).notNull(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
});

/**
 * One installed client (extension install) of one user: the last mutation id applied for it, written
 * in the same transaction as the mutation's effects, which is what makes mutations exactly-once.
 */
export const syncClients = pgTable('sync_clients', {
  clientId: uuid('client_id').primaryKey(),
  userId: uuid('user_id').notNull(),
  lastMutationId: bigint('last_mutation_id', { mode: 'number' }).notNull().default(0),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
});
