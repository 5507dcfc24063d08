/**
 * The write floor: what a push costs at the least, on the same PostgreSQL, driver and JSON as the API.
 * Used by floor-server.ts for every request with mutations (push of 1, push of 100).
 *
 * One prepared statement (postgres.js tagged template), which PostgreSQL runs as one transaction and
 * commits (a lone statement is its own transaction: an explicit BEGIN and COMMIT would be two more
 * round trips for the same effect). In it:
 * - the mutations not yet applied for this client (ids above its stored `last_mutation_id`: a resend
 *   is not applied twice);
 * - the fan's version bumped once (`update fans ... returning version`, which also locks the fan row,
 *   so pushes to one fan are serialised as the API's are);
 * - each note written with that version (`insert ... on conflict (id) do update`, only within the
 *   fan: an upsert, as the API's), content, version, content version and client, updated time and
 *   author;
 * - the client's last mutation id recorded (`insert ... on conflict do update`, only for its own user);
 * - the written notes returned, in display order: they are the answer's delta (in the bench each
 *   connection writes only its own fans, so nothing else changed since its cursor).
 * The answer is the API's envelope with each mutation `applied`, `lastMutationId` and the new cursor.
 *
 * What it skips, all of which the API does on every push:
 * - token verification (cached by the API too), request budget, validation of input and output;
 * - resolving `fanId` and authorizing the caller (the fan's row id comes from floor-server.ts's map,
 *   loaded once at start; no membership or role is checked);
 * - the fan's lease (`pg_try_advisory_xact_lock`), the sync stamps and the throttle plan;
 * - reading the stored notes before writing them: no conflict detection (`baseVersion` is ignored:
 *   a stale edit overwrites), no type, colour or pin changes (content only), no deletes, no cap on
 *   live notes and no `live_note_count` upkeep (the bench's pushes only edit existing notes), no
 *   rejections recorded, no OnlyFans snapshot merge, no tombstone purge;
 * - the client row's lock (a client's concurrent pushes to two fans could both pass the replay check;
 *   the API locks the client row) and the check that a client id belongs to its user beyond not
 *   overwriting another user's row;
 * - reading the delta since the client's cursor (others' changes): it answers with what it wrote;
 * - the live-update poke after the commit.
 */
import { encodeCursor } from '@fannotes/sync-core';
import type postgres from 'postgres';
import { envelope, note, type FloorFan } from './floor-read.ts';

export interface FloorPush {
  clientId: string;
  userId: string;
  mutations: { id: number; noteId: string; content: string }[];
}

interface WrittenRow {
  fanVersion: number;
  id: string | null;
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
}

export async function writeFloor(sql: postgres.Sql, fan: FloorFan, push: FloorPush) {
  const now = new Date();
  const rows = push.mutations.map((m) => ({ mid: m.id, id: m.noteId, content: m.content }));
  const lastMutationId = push.mutations.reduce((max, m) => Math.max(max, m.id), 0);
  const written = await sql<WrittenRow[]>`
    with client as (
      select coalesce(
        (select last_mutation_id from sync_clients where client_id = ${push.clientId}), 0) as last
    ), fan as (
      update fans set version = version + 1, updated_at = ${now}
      where id = ${fan.rowId}
      returning id, account_id, version
    ), pending as (
      select m.id, m.content from jsonb_to_recordset(${sql.json(rows)}) as m(mid bigint, id text, content text)
      where m.mid > (select last from client)
    ), note as (
      insert into notes as n (id, fan_row_id, account_id, content, version, content_version,
        content_client_id, created_at, updated_at, created_by, updated_by)
      select p.id, f.id, f.account_id, p.content, f.version, f.version, ${push.clientId}::uuid,
        ${now}::timestamptz, ${now}::timestamptz, ${push.userId}::uuid, ${push.userId}::uuid
      from pending p cross join fan f
      on conflict (id) do update set content = excluded.content, version = excluded.version,
        content_version = excluded.content_version, content_client_id = excluded.content_client_id,
        updated_at = excluded.updated_at, updated_by = excluded.updated_by
      where n.fan_row_id = excluded.fan_row_id and n.deleted_at is null
      returning n.*
    ), recorded as (
      insert into sync_clients as c (client_id, user_id, last_mutation_id, created_at, updated_at)
      values (${push.clientId}, ${push.userId}, ${lastMutationId}, ${now}, ${now})
      on conflict (client_id) do update
        set last_mutation_id = greatest(c.last_mutation_id, excluded.last_mutation_id),
          updated_at = excluded.updated_at
      where c.user_id = excluded.user_id
    )
    select f.version as "fanVersion", n.id, n.account_id as "accountId", n.content, n.type, n.color,
      n.is_pinned as "isPinned", n.source, n.only_fans_note_id as "onlyFansNoteId",
      n.conflict_of as "conflictOf", n.version, n.created_at as "createdAt", n.updated_at as "updatedAt",
      n.created_by as "createdBy", n.updated_by as "updatedBy"
    from fan f left join note n on true
    order by n.is_pinned desc, n.updated_at desc, n.id collate "C"`;
  const version = written[0]?.fanVersion;
  if (version === undefined) throw new Error(`fan ${fan.fanId} is gone`);
  const notes = [];
  for (const row of written)
    if (row.id !== null) notes.push(note(row as WrittenRow & { id: string }, fan.fanId));
  return envelope({
    synchronized: true,
    notes,
    cursor: encodeCursor(version),
    reset: false,
    deletedNoteIds: [],
    lastMutationId,
    results: push.mutations.map((m) => ({ id: m.id, noteId: m.noteId, status: 'applied' })),
    more: false,
  });
}
