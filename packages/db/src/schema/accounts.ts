import { sql } from 'drizzle-orm';
import { check, index, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * One OnlyFans creator page managed in the CRM by one team (agency). Several independent teams may
 * register the same creator: each gets its own account, and none learns of the others. Concurrent
 * registrations of one creator by one user make one account (services/accounts.ts takes a lock).
 */
export const accounts = pgTable(
  'accounts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** OnlyFans' numeric user id of the creator. */
    onlyFansUserId: text('only_fans_user_id').notNull(),
    username: text('username').notNull(),
    createdBy: uuid('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (table) => [index('accounts_only_fans_user_id_idx').on(table.onlyFansUserId)],
);

export const roles = ['owner', 'manager', 'chatter', 'viewer'] as const;

/** A user's role on an account. Authorization reads this table on every request. */
export const memberships = pgTable(
  'memberships',
  {
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    /** The Supabase Auth user id (JWT `sub`). */
    userId: uuid('user_id').notNull(),
    role: text('role', { enum: roles }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.accountId, table.userId] }),
    index('memberships_user_id_idx').on(table.userId),
    check('memberships_role_check', sql`${table.role} in ('owner', 'manager', 'chatter', 'viewer')`),
  ],
);
