import { sql } from 'drizzle-orm';
import { check, index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { accounts, roles } from './accounts.ts';

/**
 * An invitation to join an account with a role: the only way to become a member of an account one
 * did not register (the joiner's consent is their redeeming it). The code is shown once, to its
 * creator; only its sha256 is kept, so a copy of this table lets nobody join.
 */
export const invites = pgTable(
  'invites',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    /** sha256 (hex) of the canonical code (`FN-` + 26 Crockford base32 characters). */
    codeHash: text('code_hash').notNull().unique(),
    /** The code's last 4 characters, to tell invites apart in a list. */
    codeHint: text('code_hint').notNull(),
    role: text('role', { enum: roles }).notNull(),
    createdBy: uuid('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    maxUses: integer('max_uses').notNull(),
    uses: integer('uses').notNull().default(0),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (table) => [
    index('invites_account_idx').on(table.accountId, table.createdAt),
    check('invites_role_check', sql`${table.role} in ('owner', 'manager', 'chatter', 'viewer')`),
    check('invites_uses_check', sql`${table.uses} >= 0 and ${table.uses} <= ${table.maxUses}`),
  ],
);
