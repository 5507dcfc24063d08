import { MAX_NOTES_PER_SYNC, type Note } from '@fannotes/contract';
import { notes, type Database, type Transaction } from '@fannotes/db';
import { encodeCursor, sortNotes } from '@fannotes/sync-core';
import { and, asc, eq, gt, is, isNull, sql, type SQL } from 'drizzle-orm';
import { PgTransaction } from 'drizzle-orm/pg-core';
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
  fan: PageFan,
  since: number | null,
  limit = MAX_NOTES_PER_SYNC,
): Promise<NotesPage> {
  const reset = isReset(fan, since);
  const queries = is(db, PgTransaction) ? undefined : pageQueries(db);
  let rows: NoteRow[];
  if (queries) {
    rows = reset
      ? await queries.live.execute({ fanRowId: fan.id, limit: limit + 1 })
      : await queries.since.execute({ fanRowId: fan.id, since: since!, limit: limit + 1 });
  } else {
    rows = await db
      .select()
      .from(notes)
      .where(
        reset
          ? and(eq(notes.fanRowId, fan.id), isNull(notes.deletedAt))
          : and(eq(notes.fanRowId, fan.id), gt(notes.version, since!)),
      )
      .orderBy(asc(notes.version), asc(notes.id))
      .limit(limit + 1);
  }
  return pageFromRows(db, fan, reset, rows, limit);
}

/** The page queries outside a transaction (the throttled read), built once per database. */
const pageCache = new WeakMap<Database, ReturnType<typeof buildPageQueries>>();
function pageQueries(db: Database) {
  let queries = pageCache.get(db);
  if (!queries) {
    queries = buildPageQueries(db);
    pageCache.set(db, queries);
  }
  return queries;
}

function buildPageQueries(db: Database) {
  const page = (where: SQL | undefined, name: string) =>
    db
      .select()
      .from(notes)
      .where(where)
      .orderBy(asc(notes.version), asc(notes.id))
      .limit(sql.placeholder('limit'))
      .prepare(name);
  const fan = eq(notes.fanRowId, sql.placeholder('fanRowId'));
  return {
    live: page(and(fan, isNull(notes.deletedAt)), 'notes_live'),
    since: page(and(fan, gt(notes.version, sql.placeholder('since'))), 'notes_since'),
  };
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
  rows: NoteRow[],
  limit = MAX_NOTES_PER_SYNC,
): Promise<NotesPage> {
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
  // Display order (sync-core's compareNotes), on epoch milliseconds: the same order as on the ISO
  // strings, without parsing a date in every comparison.
  const live: { isPinned: boolean; updatedAt: number; id: string; row: NoteRow }[] = [];
  const deletedNoteIds: string[] = [];
  for (const row of page) {
    if (row.deletedAt === null) {
      live.push({ isPinned: row.isPinned, updatedAt: row.updatedAt.getTime(), id: row.id, row });
    } else deletedNoteIds.push(row.id);
  }
  return {
    notes: sortNotes(live).map(({ row }): Note => toNote(row, fan.fanId)),
    deletedNoteIds,
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
