import { doublePrecision, integer, pgTable, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * Each user's request budget (a token bucket), shared by every API process: a process takes tokens
 * from here a chunk at a time and spends them locally, so N processes allow one budget, not N, and no
 * request waits on this table unless its process has run out (apps/api/src/services/request-budget.ts).
 */
export const requestBudgets = pgTable('request_budgets', {
  userId: uuid('user_id').primaryKey(),
  /** Tokens left as of `updated_at` (refilled from then at the policy's rate, up to its capacity). */
  tokens: doublePrecision('tokens').notNull(),
  /** What the last take handed out (0: the user is over budget). */
  lastGrant: integer('last_grant').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
});
