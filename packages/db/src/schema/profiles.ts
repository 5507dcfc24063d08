import { sql } from 'drizzle-orm';
import { check, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

export const displayNameSources = ['token', 'member'] as const;

/**
 * A user's display name, shown to their teammates on the notes they wrote. Taken from their access
 * token (`token`: refreshed when they sign in) until they set their own (`member`: never overwritten
 * by the token again).
 */
export const profiles = pgTable(
  'profiles',
  {
    /** The Supabase Auth user id (JWT `sub`). */
    userId: uuid('user_id').primaryKey(),
    displayName: text('display_name').notNull(),
    nameSource: text('name_source', { enum: displayNameSources }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (table) => [check('profiles_name_source_check', sql`${table.nameSource} in ('token', 'member')`)],
);
