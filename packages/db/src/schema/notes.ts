import { defaultNoteType, noteSources, noteTypes } from '@fannotes/contract/note-kinds';
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  index,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { accounts } from './accounts.ts';
import { fans } from './fans.ts';

/** `('a', 'b', ...)`: a constant list for a check constraint (the values are our own constants). */
const inList = (values: readonly string[]) => sql.raw(`(${values.map((value) => `'${value}'`).join(', ')})`);

/**
 * Notes about a fan. Deleted notes stay as tombstones (`deleted_at`) so that deltas can report them;
 * `version` is the fan's version at the note's last change (see fans.version).
 */
export const notes = pgTable(
  'notes',
  {
    /** `note_<uuid>`, possibly made by a client for an offline create. */
    id: text('id').primaryKey(),
    fanRowId: uuid('fan_row_id')
      .notNull()
      .references(() => fans.id, { onDelete: 'cascade' }),
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    content: text('content').notNull(),
    type: text('type', { enum: noteTypes }).notNull().default(defaultNoteType),
    color: text('color'),
    isPinned: boolean('is_pinned').notNull().default(false),
    source: text('source', { enum: noteSources }).notNull().default('onlyautomator'),
    onlyFansNoteId: text('only_fans_note_id'),
    /** The OnlyFans text as last imported; differs from `content` once the CRM edited the note. */
    importedContent: text('imported_content'),
    /** Set on a copy made when a text conflicted with a concurrent edit of the named note. */
    conflictOf: text('conflict_of'),
    version: bigint('version', { mode: 'number' }).notNull(),
    /** The fan's version when `content` last changed, and the sync client that changed it (null: not a
     * sync client). A client's edit is stale only if someone else changed the text after its base. */
    contentVersion: bigint('content_version', { mode: 'number' }).notNull(),
    contentClientId: uuid('content_client_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
    createdBy: uuid('created_by'),
    updatedBy: uuid('updated_by'),
  },
  (table) => [
    index('notes_fan_version_idx').on(table.fanRowId, table.version),
    uniqueIndex('notes_fan_only_fans_note_unique')
      .on(table.fanRowId, table.onlyFansNoteId)
      .where(sql`${table.onlyFansNoteId} is not null`),
    check('notes_type_check', sql`${table.type} in ${inList(noteTypes)}`),
    check('notes_source_check', sql`${table.source} in ${inList(noteSources)}`),
    check('notes_color_check', sql`${table.color} is null or ${table.color} ~ '^#[0-9A-F]{6}$'`),
  ],
);
