import { MAX_NOTES_PER_SYNC, type Note } from '@fannotes/contract';
import { notes, type Database, type Transaction } from '@fannotes/db';
import { encodeCursor, sortNotes } from '@fannotes/sync-core';
import { and, asc, eq, gt, isNull } from 'drizzle-orm';
import type { FanRow } from './authz.ts';
import { toNote, type NoteRow } from './serialize.ts';

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
  fan: Pick<FanRow, 'id' | 'fanId' | 'version' | 'purgedThroughVersion'>,
  since: number | null,
  limit = MAX_NOTES_PER_SYNC,
): Promise<NotesPage> {
  const reset = since === null || since < fan.purgedThroughVersion || since > fan.version;
  const from = reset ? 0 : since;
  const rows = await db
    .select()
    .from(notes)
    .where(
      reset
        ? and(eq(notes.fanRowId, fan.id), isNull(notes.deletedAt))
        : and(eq(notes.fanRowId, fan.id), gt(notes.version, from)),
    )
    .orderBy(asc(notes.version), asc(notes.id))
    .limit(limit + 1);
  const cut = cutAtVersion(rows, limit);
  let page = cut.page;
  const more = cut.more;
  if (more && page.length === 0) {
    // More than a page of notes share one version (a huge import): that version is sent whole.
    const version = rows[0]!.version;
    page = await db
      .select()
      .from(notes)
      .where(
        and(
          eq(notes.fanRowId, fan.id),
          eq(notes.version, version),
          reset ? isNull(notes.deletedAt) : undefined,
        ),
      )
      .orderBy(asc(notes.id));
  }
  const last = page.at(-1);
  const cursorVersion = more && last ? last.version : Math.max(fan.version, last?.version ?? 0);
  return {
    notes: sortNotes(page.filter((row) => row.deletedAt === null).map((row) => toNote(row, fan.fanId))),
    deletedNoteIds: page.filter((row) => row.deletedAt !== null).map((row) => row.id),
    cursor: encodeCursor(cursorVersion),
    reset,
    more,
  };
}

function cutAtVersion(rows: NoteRow[], limit: number): { page: NoteRow[]; more: boolean } {
  if (rows.length <= limit) return { page: rows, more: false };
  const boundary = rows[limit]!.version;
  return { page: rows.filter((row) => row.version < boundary), more: true };
}
