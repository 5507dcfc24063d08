import { bigint, pgTable, timestamp, uuid } from 'drizzle-orm/pg-core';

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
