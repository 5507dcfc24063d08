import { bigint, index, integer, pgTable, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { accounts } from './accounts.ts';

/**
 * A fan of one account, with the fan's sync state. `version` is the fan's change counter: every write
 * to the fan's notes bumps it once, under this row's lock, and stamps the notes it changed with it.
 * Cursors are this counter, never timestamps.
 */
export const fans = pgTable(
  'fans',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    /** The fan's OnlyFans user id: the API's `fanId`. */
    fanId: text('fan_id').notNull(),
    username: text('username'),
    name: text('name'),
    version: bigint('version', { mode: 'number' }).notNull().default(0),
    /** Tombstones at or below this version were purged: older cursors must reset. */
    purgedThroughVersion: bigint('purged_through_version', { mode: 'number' }).notNull().default(0),
    lastFullSyncAt: timestamp('last_full_sync_at', { withTimezone: true }),
    /**
     * A digest of the last OnlyFans snapshot merged: the same snapshot again (a replayed request, or
     * OnlyFans unchanged) is not merged again, so a replay can never undo what happened since.
     */
    onlyFansSnapshotDigest: text('only_fans_snapshot_digest'),
    lastForcedSyncAt: timestamp('last_forced_sync_at', { withTimezone: true }),
    /**
     * How many of the fan's notes are live (not deleted), kept by every write under this row's lock:
     * the cap on live notes per fan is checked against it without counting them.
     */
    liveNoteCount: integer('live_note_count').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (table) => [
    unique('fans_account_fan_unique').on(table.accountId, table.fanId),
    index('fans_fan_id_idx').on(table.fanId),
  ],
);
