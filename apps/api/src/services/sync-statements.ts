import type { Role } from '@fannotes/contract';
import { fans, notes, syncClients, type Database, type Transaction } from '@fannotes/db';
import { getTableColumns, sql, type SQL } from 'drizzle-orm';
import { roleRights, type FanRow } from './authz.ts';
import { decodeRow, executeRows, recordsetColumns, textArray, toColumnNames } from './raw-sql.ts';
import type { NoteRow } from './serialize.ts';

/**
 * The statements of a full sync, each folding several steps into one round trip, so that a push costs
 * at most six whatever it carries: (1) resolve the fan and take its lease, BEGIN, (2) lock the fan and
 * the client, (3) load the notes the changes touch, (4) write, purge, bump, release and read the page,
 * COMMIT. The invariants of DESIGN.md hold as in the step-by-step version: the fan row is locked before
 * any of its notes is read; every write happens under that lock in the same transaction; the lease is
 * a committed row other processes see, released atomically with the commit.
 */

const writerRoles = (Object.keys(roleRights) as Role[]).filter((role) =>
  (roleRights[role] as readonly string[]).includes('write'),
);

export interface ResolvedWithLease {
  rows: { fan: FanRow; role: Role }[];
  /** Whether this statement took the fan's lease (exactly one fan found, a writer's role, lease free). */
  taken: boolean;
}

/**
 * resolveFan and acquireLease in one statement, for requests whose plan is known to be a full sync
 * before the fan is read (they carry changes). The lease is taken only when the fan is unambiguous
 * and the caller may write, so every request refused at those steps leaves no lease behind.
 */
export async function resolveFanTakingLease(
  db: Database,
  userId: string,
  target: { fanId: string; accountId?: string | undefined },
  lease: { holder: string; now: Date; expiresAt: Date },
): Promise<ResolvedWithLease> {
  const now = lease.now.toISOString();
  const rows = await executeRows(
    db,
    sql`with found as (
      select f.*, m.role as "member.role"
      from ${fans} f
      join memberships m on m.account_id = f.account_id and m.user_id = ${userId}
      where f.fan_id = ${target.fanId}${target.accountId ? sql` and f.account_id = ${target.accountId}` : sql``}
      limit 21
    ), taken as (
      insert into sync_leases (fan_row_id, holder, acquired_at, expires_at)
      select id, ${lease.holder}, ${now}::timestamptz, ${lease.expiresAt.toISOString()}::timestamptz
      from found
      where (select count(*) from found) = 1 and "member.role" = any(${textArray(writerRoles)}::text[])
      on conflict (fan_row_id) do update
        set holder = excluded.holder, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
        where sync_leases.expires_at < ${now}::timestamptz
      returning holder
    )
    select found.*, exists (select 1 from taken) as "lease.taken" from found`,
  );
  return {
    rows: rows.map((raw) => ({ fan: decodeRow(fans, raw)!, role: raw['member.role'] as Role })),
    taken: rows.some((raw) => raw['lease.taken'] === true),
  };
}

export interface LockedFan {
  fan: FanRow;
  /** The sync client's row, locked; undefined without a clientId, null if it could not be read here. */
  client: { clientId: string; userId: string; lastMutationId: number } | null | undefined;
}

/**
 * Locks the fan row (FOR UPDATE: the latest committed version, whatever ran before) and, with a
 * clientId, registers the client if it is new and locks its row, in one statement.
 * `client` is null in one race only: the client's first row was being inserted by another transaction,
 * which committed while this statement waited; the caller then reads it with a statement of its own.
 */
export async function lockFanAndClient(
  tx: Transaction,
  fanRowId: string,
  client: { clientId: string; userId: string; now: Date } | undefined,
): Promise<LockedFan | null> {
  if (!client) {
    const rows = await executeRows(tx, sql`select * from ${fans} where id = ${fanRowId} for update`);
    return rows[0] ? { fan: decodeRow(fans, rows[0])!, client: undefined } : null;
  }
  const now = client.now.toISOString();
  const rows = await executeRows(
    tx,
    sql`with locked as (
      select * from ${fans} where id = ${fanRowId} for update
    ), created as (
      insert into ${syncClients} (client_id, user_id, last_mutation_id, created_at, updated_at)
      values (${client.clientId}, ${client.userId}, 0, ${now}::timestamptz, ${now}::timestamptz)
      on conflict (client_id) do nothing
      returning client_id, user_id, last_mutation_id
    ), existing as (
      select client_id, user_id, last_mutation_id from ${syncClients}
      where client_id = ${client.clientId} for update
    ), chosen as (
      select * from created union all select * from existing
    )
    select locked.*, c.client_id as "client.client_id", c.user_id as "client.user_id",
      c.last_mutation_id as "client.last_mutation_id"
    from locked left join (select * from chosen limit 1) c on true`,
  );
  const raw = rows[0];
  if (!raw) return null;
  const row = raw['client.client_id'] === null ? null : decodeRow(syncClients, raw, 'client.');
  return {
    fan: decodeRow(fans, raw)!,
    client: row ? { clientId: row.clientId, userId: row.userId, lastMutationId: row.lastMutationId } : null,
  };
}

const NOTE_COLUMNS = Object.values(getTableColumns(notes)).map((column) => `"${column.name}"`);
const NOTE_COLUMN_LIST = sql.raw(NOTE_COLUMNS.join(', '));
const NOTE_RECORDSET = sql.raw(recordsetColumns(notes));
const { id: _id, createdAt: _createdAt, createdBy: _createdBy, ...updatable } = getTableColumns(notes);
// Every column but the identity ones takes the new value on conflict (as the drizzle upsert does).
const NOTE_UPDATE_SET = sql.raw(
  Object.values(updatable)
    .map((column) => `"${column.name}" = excluded."${column.name}"`)
    .join(', '),
);

export interface CloseInput {
  fan: FanRow;
  now: Date;
  /** Rows to write: every created or changed note in its new state. */
  values: (typeof notes.$inferInsert)[];
  /** The fan's new version when this sync changed what clients see; unchanged otherwise. */
  version: number;
  touched: boolean;
  /** Tombstones deleted before this are purged (DESIGN.md: the tombstone horizon). */
  horizon: Date;
  fanState: {
    lastFullSyncAt: Date | null;
    lastForcedSyncAt: Date | null;
    /** Set when this sync merged an OnlyFans snapshot. */
    onlyFansSnapshotDigest?: string | undefined;
  };
  /** The client's new last mutation id, when it moved. */
  client?: { clientId: string; lastMutationId: number } | undefined;
  lease: string;
  /** The page to read: the full live set (reset), or the notes with a version above `since`. */
  page: { reset: true } | { reset: false; since: number };
  limit: number;
}

export interface Closed {
  /** Page rows ordered by (version, id), at most `limit + 1`, as they are after this statement. */
  rows: NoteRow[];
  purgedThroughVersion: number;
}

/**
 * The rest of a full sync in one statement: upsert the changed notes, purge tombstones past the
 * horizon (except those of OnlyFans notes: the next snapshot would import a note the CRM deleted again), bump the fan (version, purge horizon, sync stamps), record the client's last mutation id,
 * release the lease, and read the page. The page is read from the statement's snapshot (the notes as
 * they were under the lock) with the rows this statement wrote in place of their old versions and the
 * purged ones left out: exactly what a read after the writes would return.
 */
export async function closeFullSync(tx: Transaction, input: CloseInput): Promise<Closed> {
  const { fan } = input;
  const horizon = input.horizon.toISOString();
  const before = new Set(input.values.map((row) => row.id));
  // A changed note that ends as a tombstone older than the horizon is purged, not written: a purge
  // after the upsert would delete it. (Changes never leave an old tombstone deleted today; kept exact.)
  const purgedAfterWrite = input.values.filter((row) => row.deletedAt && row.deletedAt < input.horizon);
  const purgedIds = new Set(purgedAfterWrite.map((row) => row.id));
  const written = input.values.filter((row) => !purgedIds.has(row.id));
  const changedIds = textArray(before);
  const pageCondition = (alias: SQL) =>
    input.page.reset ? sql`${alias}.deleted_at is null` : sql`${alias}.version > ${input.page.since}`;

  const parts: SQL[] = [];
  if (written.length > 0) {
    parts.push(sql`written as (
      insert into ${notes} (${NOTE_COLUMN_LIST})
      select ${NOTE_COLUMN_LIST} from jsonb_to_recordset(${JSON.stringify(
        written.map((row) => toColumnNames(notes, row)),
      )}::text::jsonb) as x(${NOTE_RECORDSET})
      on conflict (id) do update set ${NOTE_UPDATE_SET} where ${notes}.fan_row_id = excluded.fan_row_id
      returning *
    )`);
  }
  parts.push(sql`purged as (
    delete from ${notes}
    where fan_row_id = ${fan.id}
      and ((deleted_at < ${horizon}::timestamptz and only_fans_note_id is null and id <> all(${changedIds}::text[]))
        or id = any(${textArray(purgedIds)}::text[]))
    returning id, version
  )`);
  const purgedAfterWriteMax = Math.max(0, ...purgedAfterWrite.map((row) => row.version));
  parts.push(sql`bumped as (
    update ${fans} set
      ${input.touched ? sql`version = ${input.version}, updated_at = ${input.now.toISOString()}::timestamptz,` : sql``}
      purged_through_version = greatest(
        purged_through_version, coalesce((select max(version) from purged), 0), ${purgedAfterWriteMax}::bigint),
      last_full_sync_at = ${input.fanState.lastFullSyncAt?.toISOString() ?? null}::timestamptz,
      last_forced_sync_at = ${input.fanState.lastForcedSyncAt?.toISOString() ?? null}::timestamptz
      ${input.fanState.onlyFansSnapshotDigest === undefined ? sql`` : sql`, only_fans_snapshot_digest = ${input.fanState.onlyFansSnapshotDigest}`}
    where id = ${fan.id}
    returning purged_through_version
  )`);
  if (input.client) {
    parts.push(sql`recorded as (
      update ${syncClients} set last_mutation_id = ${input.client.lastMutationId},
        updated_at = ${input.now.toISOString()}::timestamptz
      where client_id = ${input.client.clientId}
    )`);
  }
  parts.push(sql`released as (
    delete from sync_leases where fan_row_id = ${fan.id} and holder = ${input.lease}
  )`);
  const fromTable = sql`select n.* from ${notes} n
    where n.fan_row_id = ${fan.id} and ${pageCondition(sql.raw('n'))}
      and n.id <> all(${changedIds}::text[]) and n.id not in (select id from purged)`;
  const fromWritten =
    written.length > 0
      ? sql` union all select w.* from written w where ${pageCondition(sql.raw('w'))}`
      : sql``;
  parts.push(sql`page as (
    select * from (${fromTable}${fromWritten}) p order by version, id limit ${input.limit + 1}
  )`);

  const rows = await executeRows(
    tx,
    sql`with ${sql.join(parts, sql`, `)}
    select bumped.purged_through_version as "fan.purged_through_version", page.*
    from bumped left join page on true
    order by page.version, page.id`,
  );
  const purgedThroughVersion = Number(rows[0]?.['fan.purged_through_version'] ?? fan.purgedThroughVersion);
  return {
    rows: rows.map((raw) => decodeRow(notes, raw)).filter((row): row is NoteRow => row !== null),
    purgedThroughVersion,
  };
}
