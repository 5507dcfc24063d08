import { bigint, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

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

/**
 * Why a client's mutation was rejected (sync-core's applyChanges) or refused with its whole push (a
 * fan the caller may not write to), written in the transaction that records the mutation as
 * processed. A client that lost that answer sends the mutation again: it is then a duplicate, and its
 * result carries this reason, so the change is shown as not saved instead of taken for saved.
 */
export const syncRejections = pgTable(
  'sync_rejections',
  {
    clientId: uuid('client_id')
      .notNull()
      .references(() => syncClients.clientId, { onDelete: 'cascade' }),
    mutationId: bigint('mutation_id', { mode: 'number' }).notNull(),
    reason: text('reason').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (table) => [primaryKey({ columns: [table.clientId, table.mutationId] })],
);
