import { MAX_NOTES_PER_SYNC, type Note } from '@fannotes/contract';
import { notes, type Database, type Transaction } from '@fannotes/db';
import { encodeCursor, sortNotes } from '@fannotes/sync-core';
import { sql } from 'drizzle-orm';
import type { FanRow } from './authz.ts';
import { executeRows } from './raw-sql.ts';
import { isTombstone, noteFromPageRow, pageColumns, pageRowVersion, type PageRow } from './serialize.ts';

export interface NotesPage {
  notes: Note[];
  deletedNoteIds: string[];
  cursor: string;
  reset: boolean;
  more: boolean;
}

/**
 * The fan's notes from a cursor: a delta with tombstones when `since` is a version this server can
 * still answer from, else (`reset`) the full live set.
 *
 * Invariant: `fan` was read before the notes, so every change at or below `fan.version` is visible to
 * the notes query; changes committed in between may appear early and come again in the next delta,
 * which clients apply idempotently. A page is cut only between two versions, so the returned cursor
 * never splits a version.
 */
export async function readNotes(
  db: Database | Transaction,
  fan: PageFan,
  since: number | null,
  limit = MAX_NOTES_PER_SYNC,
): Promise<NotesPage> {
  const reset = isReset(fan, since);
  const rows = await executeRows(
    db,
    sql`select ${pageColumns('n')} from ${notes} n
      where n.fan_row_id = ${fan.id} and ${reset ? sql`n.deleted_at is null` : sql`n.version > ${since}`}
      order by n.version, n.id limit ${limit + 1}`,
  );
  return pageFromRows(db, fan, reset, rows, limit);
}

type PageFan = Pick<FanRow, 'id' | 'fanId' | 'version' | 'purgedThroughVersion'>;

/** Whether a read from `since` must be the full live set rather than a delta. */
export function isReset(
  fan: Pick<FanRow, 'version' | 'purgedThroughVersion'>,
  since: number | null,
): boolean {
  return since === null || since < fan.purgedThroughVersion || since > fan.version;
}

/**
 * The page from the rows of the page query (the fan's live notes, or its notes above the cursor,
 * ordered by version and id, at most `limit + 1`), however that query was run.
 */
export async function pageFromRows(
  db: Database | Transaction,
  fan: PageFan,
  reset: boolean,
  rows: readonly PageRow[],
  limit = MAX_NOTES_PER_SYNC,
): Promise<NotesPage> {
  const cut = cutAtVersion(rows, limit);
  let page = cut.page;
  const more = cut.more;
  if (more && page.length === 0) {
    // More than a page of notes share one version (a huge import): that version is sent whole.
    page = await executeRows(
      db,
      sql`select ${pageColumns('n')} from ${notes} n
        where n.fan_row_id = ${fan.id} and n.version = ${pageRowVersion(rows[0]!)}
          ${reset ? sql`and n.deleted_at is null` : sql``}
        order by n.id`,
    );
  }
  const last = page.at(-1);
  const lastVersion = last ? pageRowVersion(last) : 0;
  const cursorVersion = more ? lastVersion : Math.max(fan.version, lastVersion);
  // Display order (sync-core's compareNotes), on epoch milliseconds: the same order as on the ISO
  // strings, without parsing a date in every comparison.
  const live: { isPinned: boolean; updatedAt: number; id: string; note: Note }[] = [];
  const deletedNoteIds: string[] = [];
  for (const row of page) {
    if (isTombstone(row)) {
      deletedNoteIds.push(row.id as string);
      continue;
    }
    const note = noteFromPageRow(row, fan.fanId);
    live.push({ isPinned: note.isPinned, updatedAt: Date.parse(note.updatedAt), id: note.id, note });
  }
  return {
    notes: sortNotes(live).map(({ note }) => note),
    deletedNoteIds,
    cursor: encodeCursor(cursorVersion),
    reset,
    more,
  };
}

function cutAtVersion(rows: readonly PageRow[], limit: number): { page: readonly PageRow[]; more: boolean } {
  if (rows.length <= limit) return { page: rows, more: false };
  const boundary = pageRowVersion(rows[limit]!);
  return { page: rows.filter((row) => pageRowVersion(row) < boundary), more: true };
}
