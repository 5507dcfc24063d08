/**
 * The read floor: what serving one sync read costs at the least, on the same PostgreSQL, driver and
 * JSON as the API. Used by floor-server.ts for every request without mutations (throttled reads,
 * delta pulls, full syncs without changes, cold fans).
 *
 * One prepared statement on one table (postgres.js tagged template: named, parsed once per
 * connection, then Bind/Execute only), by the index `notes (fan_row_id, version)`:
 * - no cursor: the fan's live notes; with a cursor: its notes (tombstones included) after the
 *   cursor's position;
 * - the same page as the API's (services/read-notes.ts): the first 5,000 in (version, id) order and
 *   at most 1 MiB by the same byte count, the note that crosses either bound marking `more`;
 * - in display order (pinned first, newest first, then id by code unit), sorted by PostgreSQL.
 * Each row becomes the contract's `Note` (the same 15 fields, in the same order, dates as ISO 8601
 * strings) and the answer is the API's envelope with every key of `SyncNotesData`, through one
 * `JSON.stringify`, as Fastify sends the API's.
 *
 * What it skips, all of which the API does on every read:
 * - the token's verification (the API caches it for 60 s per token, so under load it skips it too)
 *   and the per-user request budget;
 * - input validation (zod), and output validation;
 * - resolving `fanId` and authorizing the caller: the floor takes the fan's row id from a map loaded
 *   once at start (floor-server.ts), as a cache of fan ids would, and checks no membership;
 * - the fan row itself: no throttle decision (every answer says `throttled: true`), no check that the
 *   cursor is still answerable (purged tombstones, a cursor ahead of the fan), and the cursor it
 *   returns is the highest version it read (the API's is the fan's version, which can be higher when
 *   the fan's latest change was a purge).
 */
import { encodeCursor, encodeCursorPosition, type CursorPosition } from '@fannotes/sync-core';
import type postgres from 'postgres';

/** The API's page bounds (packages/contract: MAX_NOTES_PER_SYNC, MAX_SYNC_PAGE_BYTES; read-notes.ts). */
const LIMIT = 5000;
const MAX_PAGE_BYTES = 1024 * 1024;
const NOTE_FIELDS_BYTES = 528;
const TOMBSTONE_BYTES = 48;

export interface FloorFan {
  fanId: string;
  rowId: string;
  accountId: string;
}

interface PageRow {
  id: string;
  accountId: string;
  content: string;
  type: string;
  color: string | null;
  isPinned: boolean;
  source: string;
  onlyFansNoteId: string | null;
  conflictOf: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  createdBy: string | null;
  updatedBy: string | null;
  deleted: boolean;
  /** Past the page's bounds: not sent, it only says there is more. */
  beyond: boolean;
}

/** One note of an answer: the contract's `Note`, field for field. */
export function note(row: Omit<PageRow, 'deleted' | 'beyond'>, fanId: string) {
  return {
    id: row.id,
    fanId,
    accountId: row.accountId,
    content: row.content,
    type: row.type,
    color: row.color,
    isPinned: row.isPinned,
    source: row.source,
    onlyFansNoteId: row.onlyFansNoteId,
    conflictOf: row.conflictOf,
    version: row.version,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    createdBy: row.createdBy,
    updatedBy: row.updatedBy,
  };
}

/**
 * The envelope of every sync answer (the API's `answer()`, in the contract's key order), as an object:
 * the bare floor sends it through one `JSON.stringify`, floor-stack.ts hands it to tRPC.
 */
export function envelope(data: {
  synchronized: boolean;
  notes: unknown[];
  cursor: string;
  reset: boolean;
  deletedNoteIds: string[];
  lastMutationId: number | null;
  results: unknown[];
  more: boolean;
}) {
  const now = Date.now();
  return {
    status: 'success',
    data: {
      synchronized: data.synchronized,
      noteCount: data.notes.length,
      notes: data.notes,
      timestamp: new Date(now).toISOString(),
      cursor: data.cursor,
      reset: data.reset,
      deletedNoteIds: data.deletedNoteIds,
      lastMutationId: data.lastMutationId,
      results: data.results,
      throttled: !data.synchronized,
      nextSyncAt: new Date(now + 600_000).toISOString(),
      more: data.more,
    },
  };
}

/** The read floor's answer for `fan` from `since` (null: the live set), as an object (envelope). */
export async function readFloor(sql: postgres.Sql, fan: FloorFan, since: CursorPosition | null) {
  const reset = since === null;
  const rows = await sql<PageRow[]>`
    select id, account_id as "accountId", content, type, color, is_pinned as "isPinned", source,
      only_fans_note_id as "onlyFansNoteId", conflict_of as "conflictOf", version,
      created_at as "createdAt", updated_at as "updatedAt", created_by as "createdBy",
      updated_by as "updatedBy", deleted_at is not null as deleted,
      (rank > ${LIMIT} or (rank > 1 and page_bytes > ${MAX_PAGE_BYTES})) as beyond
    from (
      select p.*, row_number() over w as rank,
        sum(case when deleted_at is null then octet_length(content) + ${NOTE_FIELDS_BYTES}
          else ${TOMBSTONE_BYTES} end) over w as page_bytes
      from (
        select * from notes
        where fan_row_id = ${fan.rowId}
          and ${
            since === null
              ? sql`deleted_at is null`
              : sql`version >= ${since.version}
                and (version > ${since.version} or (version = ${since.version} and id collate "C" > ${since.afterId}))`
          }
        order by version, id collate "C"
        limit ${LIMIT + 1}
      ) p
      window w as (order by version, id collate "C" rows unbounded preceding)
    ) b
    where page_bytes - case when deleted_at is null then octet_length(content) + ${NOTE_FIELDS_BYTES}
      else ${TOMBSTONE_BYTES} end < ${MAX_PAGE_BYTES}
    order by beyond, is_pinned desc, updated_at desc, id collate "C"`;

  const notes = [];
  const deletedNoteIds: string[] = [];
  let more = false;
  let last: PageRow | undefined;
  for (const row of rows) {
    if (row.beyond) {
      more = true;
      continue;
    }
    if (
      last === undefined ||
      row.version > last.version ||
      (row.version === last.version && row.id > last.id)
    )
      last = row;
    if (row.deleted) deletedNoteIds.push(row.id);
    else notes.push(note(row, fan.fanId));
  }
  const cursor = more
    ? encodeCursorPosition({ version: last!.version, afterId: last!.id })
    : encodeCursor(Math.max(last?.version ?? 0, since?.version ?? 0));
  return envelope({
    synchronized: false,
    notes,
    cursor,
    reset,
    deletedNoteIds,
    lastMutationId: null,
    results: [],
    more,
  });
}
