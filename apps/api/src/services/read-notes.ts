import { MAX_NOTES_PER_SYNC, MAX_SYNC_PAGE_BYTES, type Note } from '@fannotes/contract';
import { notes, type Database, type Transaction } from '@fannotes/db';
import { encodeCursor, encodeCursorPosition, sortNotes, type CursorPosition } from '@fannotes/sync-core';
import { sql, type SQL } from 'drizzle-orm';
import type { FanRow } from './authz.ts';
import { executeRows, type Bound } from './raw-sql.ts';
import { isTombstone, noteFromPageRow, pageColumns, pageRowVersion, type PageRow } from './serialize.ts';

export interface NotesPage {
  notes: Note[];
  deletedNoteIds: string[];
  cursor: string;
  reset: boolean;
  more: boolean;
}

/** Which notes a page holds: the fan's live set (reset), or its changes after a cursor position. */
export type PageSpec = { reset: true } | { reset: false; since: CursorPosition };

/** A cursor position in a statement: its values, or placeholders for them (raw-sql.ts StatementShapes). */
export interface BoundPosition {
  version: Bound<number>;
  /** Null (a version cursor) is the statement's shape, never a placeholder's value. */
  afterId: Bound<string> | null;
}

/** PageSpec in a statement. */
type BoundPageSpec = { reset: true } | { reset: false; since: BoundPosition };

/**
 * What a note costs a page, in bytes: its text in UTF-8 and, for the rest of its fields, the most
 * they take in JSON (ids, uuids, timestamps: 527 bytes); a deleted note is only its id.
 */
const NOTE_FIELDS_BYTES = 528;
const TOMBSTONE_BYTES = 48;

/** The condition on `alias` (a notes row) that a page's rows meet. */
function pageCondition(alias: string, page: BoundPageSpec): SQL {
  const n = sql.raw(alias);
  if (page.reset) return sql`${n}.deleted_at is null`;
  const { version, afterId } = page.since;
  if (afterId === null) return sql`${n}.version > ${version}`;
  return sql`(${n}.version > ${version} or (${n}.version = ${version} and ${n}.id > ${afterId}))`;
}

export interface PageQuery {
  /** The fan's row id (a value, or an expression of the statement around the page). */
  fanRowId: SQL;
  page: BoundPageSpec;
  limit: number;
  /**
   * A further condition on the stored notes (alias `n`), for a statement that changes some of them:
   * those it purged or rewrote are left out of what is read from the table.
   */
  where?: SQL | undefined;
  /**
   * The name of a CTE of the same statement returning notes rows (`insert ... returning *`): read
   * with the page's condition in place of their stored versions (which `where` leaves out).
   */
  written?: SQL | undefined;
}

/**
 * The one page reader: the select every statement that answers with notes runs (a read on its own, or
 * a CTE of a sync's statement). The rows are the fan's notes that `page` asks for (the live set, or the
 * changes after a cursor position), the first `limit + 1` in page order (version, then id), each with
 * `page_bytes`, the running total of what the page costs through it, and only those that start within
 * MAX_SYNC_PAGE_BYTES. So a page never reads more than the bound (plus the one note that crosses it,
 * which tells the caller there is more), whatever the fan holds: text is measured with
 * `octet_length`, which does not even detoast it. pageFromRows makes the answer of its rows.
 */
export function notesPage(query: PageQuery): SQL {
  const stored = sql`select ${pageColumns('n')} from ${notes} n
    where n.fan_row_id = ${query.fanRowId} and ${pageCondition('n', query.page)}${
      query.where ? sql` and ${query.where}` : sql``
    }`;
  const written = query.written
    ? sql` union all select ${pageColumns('w')} from ${query.written} w where ${pageCondition('w', query.page)}`
    : sql``;
  return boundedPage(sql`${stored}${written}`, query.limit);
}

/**
 * The page of a statement that learns only as it runs whether the page is a delta from `since` or the
 * full live set (`reset`, an SQL boolean: the fan row is read by the same statement, see isReset): both
 * selects are in the statement, each gated by a condition that does not depend on the notes row, which
 * PostgreSQL evaluates once (a one-time filter) before scanning, so only one of them reads the index,
 * with a generic plan too. Rows as notesPage's.
 */
export function eitherPage(query: { fanRowId: SQL; since: BoundPosition; reset: SQL; limit: number }): SQL {
  const select = (gate: SQL, page: BoundPageSpec) =>
    sql`select ${pageColumns('n')} from ${notes} n
      where n.fan_row_id = ${query.fanRowId} and ${gate} and ${pageCondition('n', page)}`;
  return boundedPage(
    sql`${select(sql`(${query.reset})`, { reset: true })} union all ${select(sql`not (${query.reset})`, {
      reset: false,
      since: query.since,
    })}`,
    query.limit,
  );
}

/** The page bound around `rows` (a select of `pageColumns`): see notesPage. */
function boundedPage(rows: SQL, limit: number): SQL {
  const cost = (q: SQL) =>
    sql`case when ${q}.deleted_at is null then octet_length(${q}.content) + ${NOTE_FIELDS_BYTES} else ${TOMBSTONE_BYTES} end`;
  // Kept short up to the read of the notes (`rows`): readOrPlan's must start within its statement's first
  // kilobyte (sync-statements.ts).
  return sql`select b.* from (select q.*, sum(${cost(sql.raw('q'))}) over (order by q.version, q.id rows unbounded preceding) as page_bytes from (select * from (${rows}) r order by r.version, r.id limit ${limit + 1}) q
    ) b
    where b.page_bytes - ${cost(sql.raw('b'))} < ${MAX_SYNC_PAGE_BYTES}
    order by b.version, b.id`;
}

/**
 * The fan's notes from a cursor position: a delta with tombstones when `since` is a position this
 * server can still answer from, else (`reset`) the full live set.
 *
 * Invariant: `fan` was read before the notes, so every change at or below `fan.version` is visible to
 * the notes query; changes committed in between may appear early and come again in the next delta,
 * which clients apply idempotently.
 */
export async function readNotes(
  db: Database | Transaction,
  fan: PageFan,
  since: CursorPosition | null,
  limit = MAX_NOTES_PER_SYNC,
): Promise<NotesPage> {
  const reset = isReset(fan, since);
  const spec: PageSpec = reset ? { reset: true } : { reset: false, since: since! };
  const rows = await executeRows(db, notesPage({ fanRowId: sql`${fan.id}`, page: spec, limit }));
  return pageFromRows(fan, reset, rows, limit);
}

type PageFan = Pick<FanRow, 'id' | 'fanId' | 'version' | 'purgedThroughVersion'>;

/** Whether a read from `since` must be the full live set rather than a delta. */
export function isReset(
  fan: Pick<FanRow, 'version' | 'purgedThroughVersion'>,
  since: CursorPosition | null,
): boolean {
  return since === null || since.version < fan.purgedThroughVersion || since.version > fan.version;
}

/**
 * The page from the rows of a page statement (notesPage), however it was run: at most `limit`
 * notes and MAX_SYNC_PAGE_BYTES (the first note always), `more` when rows were left out. A page that
 * ends inside a version ends with a position cursor (the next page starts after its last note);
 * a complete one with the fan's version.
 */
export function pageFromRows(
  fan: PageFan,
  reset: boolean,
  rows: readonly PageRow[],
  limit = MAX_NOTES_PER_SYNC,
): NotesPage {
  let size = 0;
  while (
    size < rows.length &&
    size < limit &&
    (size === 0 || Number(rows[size]!.page_bytes) <= MAX_SYNC_PAGE_BYTES)
  ) {
    size++;
  }
  const page = rows.slice(0, size);
  const more = size < rows.length;
  const last = page.at(-1);
  const lastVersion = last ? pageRowVersion(last) : 0;
  const cursor = more
    ? encodeCursorPosition({ version: lastVersion, afterId: last!.id as string })
    : encodeCursor(Math.max(fan.version, lastVersion));
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
  return { notes: sortNotes(live).map(({ note }) => note), deletedNoteIds, cursor, reset, more };
}
