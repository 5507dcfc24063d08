import { index, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { notes } from './notes.ts';

/**
 * What a write sent with an `Idempotency-Key` header did, so that a retry of it (a lost answer, a
 * timeout) answers with the same note instead of writing again: keyed by the caller and the key, with
 * a digest of the request to refuse the key's reuse for another one. Kept a day (IDEMPOTENCY_KEY_TTL_MS
 * in the API); goes with its note when the note is purged.
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    userId: uuid('user_id').notNull(),
    key: text('key').notNull(),
    /** sha256 of the request as validated: which endpoint, which fan, which fields. */
    requestDigest: text('request_digest').notNull(),
    noteId: text('note_id')
      .notNull()
      .references(() => notes.id, { onDelete: 'cascade' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.userId, table.key] }),
    index('idempotency_keys_created_at_idx').on(table.createdAt),
    index('idempotency_keys_note_idx').on(table.noteId),
  ],
);
