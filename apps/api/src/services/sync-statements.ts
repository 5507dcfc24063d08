import type { Role } from '@fannotes/contract';
import { fans, notes, syncClients, syncRejections, type Database, type Transaction } from '@fannotes/db';
import { getTableColumns, sql, type Placeholder, type Query, type SQL } from 'drizzle-orm';
import { callerFans, decodeCallerFan, fanNotFound, roleHas, type FanRow } from './authz.ts';
import { tryTakeLease } from './lease.ts';
import { boundScopeCondition, noteRowsJson, upsertNotes } from './note-writes.ts';
import { decodeRow, executeRows, StatementShapes, textArray, type Bound } from './raw-sql.ts';
import type { CursorPosition } from '@fannotes/sync-core';
import { eitherPage, notesPage, type BoundPosition, type PageSpec } from './read-notes.ts';
import type { NoteRow, PageRow } from './serialize.ts';

/**
 * The statements of a full sync, each folding several steps into one round trip.
 *
 * A push (a request with changes: always a full sync, so its plan is known before the fan is read),
 * in one transaction: (1) resolve the fan, take its lease, lock it and the client and read the notes
 * the changes touch, (2) write, purge, bump and read the page. BEGIN goes out with (1) and COMMIT with
 * (2), neither waited for on its own (packages/db pipelinedTransaction): two round trips whatever it
 * carries (three when a write committed while the first statement waited for the lock: the notes are
 * read again).
 * The poke that tells other processes leaves after the commit, batched (services/sync.ts).
 *
 * A throttled read (a delta pull included): (1) one statement that resolves the fan, decides the
 * throttle and reads the page (readOrPlan): one round trip.
 *
 * A full sync without changes, due and not forced: the same statement, which then also takes the
 * lease, purges, stamps the fan and reads the page: one round trip. Forced: that statement resolves
 * the fan to plan it (sync-core's force floor), then (2) one statement of its own does the rest
 * (refreshFan): two round trips.
 *
 * The invariants of DESIGN.md hold as in the step-by-step version: a write of notes happens with the
 * fan row locked, in one transaction that bumps the fan's version once; a page and its cursor come
 * from one snapshot; the lease (lease.ts) is held until the sync's transaction ends.
 */

const FAN_COLUMNS = Object.values(getTableColumns(fans)).map((column) => column.name);
const LOCKED_FAN_COLUMNS = sql.raw(FAN_COLUMNS.map((name) => `l."${name}" as "locked.${name}"`).join(', '));

export interface ClientRow {
  clientId: string;
  userId: string;
  lastMutationId: number;
}

export interface LockedForPush {
  /** The fans the request names among the caller's accounts, with the caller's role (pickResolvedFan). */
  rows: { fan: FanRow; role: Role }[];
  /** Whether this statement took the fan's lease (exactly one fan found, a writer's role, lease free). */
  leased: boolean;
  /** The fan row, locked: its latest committed state, whatever committed while this statement waited. */
  fan: FanRow | null;
  /** The sync client's row, locked; undefined without a clientId, null if it could not be read here. */
  client: ClientRow | null | undefined;
  /**
   * Why the client's earlier mutations among this request's ids were rejected or refused (by id); null
   * when they may be stale (the client's row changed between this statement's snapshot and its lock)
   * or the client row could not be read: the caller reads them again (loadRejections).
   */
  rejections: Map<number, string> | null;
  /**
   * The notes of the requested scope as they are under the lock; null when none was asked for, or when
   * the fan row changed between this statement's snapshot and its lock (then they may be stale).
   */
  scope: NoteRow[] | null;
}

/**
 * The first statement of a push, in its transaction: resolve the fan among the caller's accounts, take
 * its lease (only for exactly one fan and a writer's role, so a refused request never holds it), lock
 * the fan row (FOR UPDATE: its latest committed version) and, with a clientId, register the client if
 * it is new and lock its row. `client` is null in one race only: the client's first row was being
 * inserted by another transaction, which committed while this statement waited; the caller then reads
 * it with a statement of its own.
 *
 * It also reads the notes in `scope` (note-writes.ts boundScopeCondition: those the mutations name,
 * and with an OnlyFans snapshot the fan's OnlyFans notes), when there are any. They come from the
 * statement's snapshot, taken before the lock was granted; they are what the lock protects exactly
 * when the fan row is the version the snapshot saw (same xmin): every transaction that changes a fan's
 * notes also updates its fan row (a version bump, or the purge horizon and sync stamps). Otherwise
 * `scope` is null and the caller reads them again. The statement's text is made once per shape
 * (LockShape).
 */
export async function lockForPush(
  tx: Transaction,
  userId: string,
  target: { fanId: string; accountId?: string | undefined },
  client: { clientId: string; now: Date; mutationIds: readonly number[] } | undefined,
  scope: { noteIds: readonly string[]; onlyFans: boolean },
): Promise<LockedForPush> {
  const shape: LockShape = {
    client: client !== undefined,
    account: target.accountId !== undefined,
    noteIds: scope.noteIds.length > 0,
    onlyFans: scope.onlyFans,
  };
  const values: Record<LockValue, unknown> = {
    userId,
    fanId: target.fanId,
    accountId: target.accountId ?? null,
    clientId: client?.clientId ?? null,
    now: client?.now.toISOString() ?? null,
    mutationIds: client ? textArray(client.mutationIds.map(String)) : null,
    noteIds: textArray(scope.noteIds),
  };
  const rows = await lockStatements.rows(tx, shape, values);
  const first = rows[0];
  const lockedClient = client === undefined ? undefined : first ? decodeClient(first) : null;
  const fresh =
    lockedClient != null && Number(first!['snapshot.last_mutation_id'] ?? 0) === lockedClient.lastMutationId;
  return {
    rows: rows.map(decodeCallerFan),
    leased: first?.['lease.taken'] === true,
    fan: first ? decodeRow(fans, first, 'locked.') : null,
    client: lockedClient,
    rejections:
      client === undefined ? new Map() : fresh ? decodeRejections(first!['client.rejections']) : null,
    scope:
      first && Array.isArray(first['scope.notes']) && first['snapshot.xmin'] === first['locked.xmin']
        ? (first['scope.notes'] as Record<string, unknown>[]).map((raw) => decodeRow(notes, raw)!)
        : null,
  };
}

/** What decides the text of lockForPush's statement; everything else is a value (LockValue). */
type LockShape = {
  client: boolean;
  account: boolean;
  /** Mutations name notes (note-writes.ts boundScopeCondition). */
  noteIds: boolean;
  /** An OnlyFans snapshot came: the fan's OnlyFans notes are in scope. */
  onlyFans: boolean;
};

type LockValue = 'userId' | 'fanId' | 'accountId' | 'clientId' | 'now' | 'mutationIds' | 'noteIds';

const lockStatements = new StatementShapes<LockShape>(lockStatement);

/** lockForPush's statement for one shape, its values as placeholders (LockValue). */
function lockStatement(shape: LockShape): SQL {
  const value = (name: LockValue) => sql.placeholder(name);
  const userId = value('userId');
  const target = { fanId: value('fanId'), accountId: shape.account ? value('accountId') : undefined };
  const parts: SQL[] = [
    sql`found as (${callerFans(userId, target)})`,
    sql`leased as materialized (
      select id, ${tryTakeLease(sql`id`)} as taken from found
      where (select count(*) from found) = 1 and ${roleHas(sql`"member.role"`, 'write')}
    )`,
    sql`locked as (
      select f.*, f.xmin::text as locked_xmin
      from ${fans} f join leased on leased.id = f.id and leased.taken for update of f
    )`,
  ];
  const clientId = value('clientId');
  if (shape.client) {
    const now = value('now');
    parts.push(sql`created as (
      insert into ${syncClients} (client_id, user_id, last_mutation_id, created_at, updated_at)
      select ${clientId}, ${userId}, 0, ${now}::timestamptz, ${now}::timestamptz
      where exists (select 1 from locked)
      on conflict (client_id) do nothing
      returning client_id, user_id, last_mutation_id
    ), existing as (
      select client_id, user_id, last_mutation_id from ${syncClients}
      where client_id = ${clientId} and exists (select 1 from locked) for update
    ), chosen as (
      select * from created union all select * from existing
    )`);
  }
  // Rejections are written in the transaction that moves last_mutation_id, so the snapshot's are
  // current exactly when the locked row's last_mutation_id is the one the snapshot saw.
  const clientColumns = shape.client
    ? sql`, c.client_id as "client.client_id", c.user_id as "client.user_id",
        c.last_mutation_id as "client.last_mutation_id",
        (select last_mutation_id from ${syncClients} where client_id = ${clientId})
          as "snapshot.last_mutation_id",
        (${rejectionsQuery(clientId, value('mutationIds'))}) as "client.rejections"`
    : sql``;
  const clientJoin = shape.client ? sql` left join (select * from chosen limit 1) c on true` : sql``;
  const scopeCondition = boundScopeCondition(
    { noteIds: shape.noteIds ? value('noteIds') : undefined, onlyFans: shape.onlyFans },
    sql`(select id from locked)`,
  );
  const scopeColumn = scopeCondition
    ? sql`, (select coalesce(json_agg(${notes}), '[]'::json) from ${notes}
        where exists (select 1 from locked) and (${scopeCondition})) as "scope.notes"`
    : sql``;
  return sql`with ${sql.join(parts, sql`, `)}
    select found.*, coalesce((select taken from leased), false) as "lease.taken", ${LOCKED_FAN_COLUMNS},
      l.locked_xmin as "locked.xmin"${clientColumns}${scopeColumn}
    from found left join locked l on true${clientJoin}`;
}

/** The reasons recorded for `mutationIds` of the client, as one json object (id → reason). */
function rejectionsQuery(clientId: Bound<string>, mutationIds: Bound<string>): SQL {
  return sql`select coalesce(json_object_agg(r.mutation_id, r.reason), '{}'::json) from ${syncRejections} r
    where r.client_id = ${clientId} and r.mutation_id = any(${mutationIds}::bigint[])`;
}

function decodeRejections(value: unknown): Map<number, string> {
  const object = (typeof value === 'string' ? JSON.parse(value) : (value ?? {})) as Record<string, string>;
  return new Map(Object.entries(object).map(([id, reason]) => [Number(id), reason]));
}

/** The reasons recorded for `mutationIds` of the client, read on their own (see LockedForPush). */
export async function loadRejections(
  tx: Transaction,
  clientId: string,
  mutationIds: readonly number[],
): Promise<Map<number, string>> {
  const [row] = await executeRows(
    tx,
    sql`select (${rejectionsQuery(clientId, textArray(mutationIds.map(String)))}) as rejections`,
  );
  return decodeRejections(row?.rejections);
}

function decodeClient(raw: Record<string, unknown>): ClientRow | null {
  const row = raw['client.client_id'] === null ? null : decodeRow(syncClients, raw, 'client.');
  return row ? { clientId: row.clientId, userId: row.userId, lastMutationId: row.lastMutationId } : null;
}

export interface ReadInput {
  userId: string;
  target: { fanId: string; accountId?: string | undefined };
  clientId: string | undefined;
  force: boolean;
  now: Date;
  /** sync-core's ThrottlePolicy.minIntervalMs: the page is read when the fan is throttled by it. */
  minIntervalMs: number;
  since: CursorPosition | null;
  limit: number;
  /**
   * Given, a sync that is due and not forced is run by the same statement (refreshFan's work, with
   * tombstones deleted before `horizon` purged): `refreshed` says how it went. A forced sync is never
   * run here: its force floor is sync-core's to decide, and it goes on to refreshFan.
   */
  refresh?: { horizon: Date } | undefined;
}

export interface ReadOrPlan {
  /** The fans the request names among the caller's accounts, with the caller's role (pickResolvedFan). */
  rows: { fan: FanRow; role: Role }[];
  /** Whether the page was read: exactly one fan, throttled (not forced, synced within the interval). */
  read: boolean;
  /** The page's rows (read-notes.ts notesPage), ordered by (version, id); empty unless `read`. */
  pageRows: PageRow[];
  /**
   * With a clientId: the client's last processed mutation id (0 for a client the server has not met);
   * null for another user's client, and without a clientId.
   */
  lastMutationId: number | null;
  /** How the due sync this statement ran went (with `refresh` only), its page in `pageRows`; else null. */
  refreshed: Refreshed | null;
}

/**
 * The first and, for a throttled read or a due sync that is not forced, only statement of a sync
 * without changes: one round trip. It resolves the fan among the caller's accounts (callerFans: the
 * membership row, any role, authorizes the read), makes the throttle decision on the fan row it read
 * (`throttled` below) and, when the fan is throttled, reads the page from the same snapshot as the
 * fan's version and purge horizon (so the cursor and the page agree, as they do for a full sync). A
 * throttled read writes nothing: it stores no stamp, takes no lease and no lock. With `refresh`, a fan
 * that is due (and a sync that is not forced) is synced by the same statement (refreshParts) and its
 * page read likewise. With a clientId it also reads the client's last mutation id.
 *
 * The decision in SQL decides what the statement does; the caller makes the plan with sync-core
 * (planSync) from the fan row returned, which decides alike, and a forced sync goes on to refreshFan.
 * The fan's columns come as one JSON column (headOf) on the first row only (the page's rows follow it),
 * so a page of 5,000 notes does not carry 5,000 copies of the fan. The read of the notes starts within
 * the first kilobyte of the statement's text, which is what pg_stat_activity shows by default
 * (track_activity_query_size): keep it there (test/cancelled-reads.test.ts finds the read by it).
 */
export async function readOrPlan(db: Database, input: ReadInput): Promise<ReadOrPlan> {
  const { since, refresh } = input;
  const shape: ReadShape = {
    since: since === null ? 'none' : since.afterId === null ? 'version' : 'position',
    client: input.clientId !== undefined,
    refresh: refresh !== undefined,
    account: input.target.accountId !== undefined,
    limit: input.limit,
  };
  // sync-core's planSync for a request without changes (plan.ts, effectiveStamp), as a range: a full
  // sync within the last interval throttles; a stamp ahead of `now` by at most the interval is clock
  // skew, read as `now` (throttled); one further ahead is ignored (due: a full sync repairs it). A
  // forced sync, or a policy without an interval, is never throttled.
  const interval = input.minIntervalMs;
  const values: Record<ReadValue, unknown> = {
    userId: input.userId,
    fanId: input.target.fanId,
    accountId: input.target.accountId ?? null,
    clientId: input.clientId ?? null,
    throttles: !input.force && interval > 0,
    throttledFrom: new Date(input.now.getTime() - interval).toISOString(),
    throttledTo: new Date(input.now.getTime() + interval).toISOString(),
    runsDue: !input.force && refresh !== undefined,
    sinceVersion: since?.version ?? null,
    sinceAfterId: since?.afterId ?? null,
    now: input.now.toISOString(),
    horizon: refresh?.horizon.toISOString() ?? null,
  };
  const rows = await readStatements.rows(db, shape, values);
  const first = rows[0];
  if (!first) return { rows: [], read: false, pageRows: [], lastMutationId: null, refreshed: null };
  const head = headOf(first);
  const read = head['page.read'] === true;
  const lastMutationId =
    input.clientId === undefined
      ? null
      : head['client.known'] === true
        ? head['client.last_mutation_id'] === null
          ? null
          : Number(head['client.last_mutation_id'])
        : 0;
  return {
    // Several fans (an ambiguity) come without a page: every row is one of them.
    rows: read ? [decodeResolved(head)] : rows.map((row) => decodeResolved(headOf(row))),
    read,
    // Without notes, the page's side of the outer join is one row of nulls.
    pageRows: read ? rows.filter((raw) => raw.id !== null) : [],
    lastMutationId,
    refreshed: read && head['refresh.due'] === true ? refreshedFrom(head) : null,
  };
}

/** What decides the text of readOrPlan's statement; everything else is a value (ReadValue). */
type ReadShape = {
  /** No cursor, a version cursor, or a position within a version (read-notes.ts pageCondition). */
  since: 'none' | 'version' | 'position';
  client: boolean;
  refresh: boolean;
  account: boolean;
  /** A number in the text (the page's LIMIT): MAX_NOTES_PER_SYNC but in tests. */
  limit: number;
};

type ReadValue =
  | 'userId'
  | 'fanId'
  | 'accountId'
  | 'clientId'
  | 'throttles'
  | 'throttledFrom'
  | 'throttledTo'
  | 'runsDue'
  | 'sinceVersion'
  | 'sinceAfterId'
  | 'now'
  | 'horizon';

const readStatements = new StatementShapes<ReadShape>(readStatement);

/** readOrPlan's statement for one shape, its values as placeholders (ReadValue). */
function readStatement(shape: ReadShape): SQL {
  const value = (name: ReadValue) => sql.placeholder(name);
  const throttled = sql`${value('throttles')}::boolean and last_full_sync_at > ${value('throttledFrom')}::timestamptz and last_full_sync_at <= ${value('throttledTo')}::timestamptz`;
  const fanRowId = sql`(select id from one)`;
  const since: BoundPosition = {
    version: value('sinceVersion'),
    afterId: shape.since === 'position' ? value('sinceAfterId') : null,
  };
  const page =
    shape.since === 'none'
      ? notesPage({ fanRowId, page: { reset: true }, limit: shape.limit })
      : eitherPage({
          fanRowId,
          since,
          // read-notes.ts isReset, on the fan row of this statement.
          reset: sql`select ${since.version}::bigint < purged_through_version
          or ${since.version}::bigint > version from one`,
          limit: shape.limit,
        });
  const userId = value('userId');
  const clientId = shape.client ? value('clientId') : undefined;
  const client = clientId
    ? sql`'client.last_mutation_id', (select case when user_id = ${userId} then last_mutation_id end
          from ${syncClients} where client_id = ${clientId}),
        'client.known', exists (select 1 from ${syncClients} where client_id = ${clientId})`
    : sql`'client.last_mutation_id', null::bigint, 'client.known', false`;
  const refresh = shape.refresh
    ? refreshParts({ userId, clientId, now: value('now'), horizon: value('horizon') })
    : undefined;
  const headColumn = sql`to_jsonb(found) || jsonb_build_object('page.read', exists (select 1 from one), ${client})${
    refresh ? sql` || ${refresh.head}` : sql``
  }`;
  const target = { fanId: value('fanId'), accountId: shape.account ? value('accountId') : undefined };
  // `one` is the fan when the page is read: throttled, or due (not throttled, not forced: sync-core
  // plans a full sync) when this statement runs it. The page is the third part of the statement, so
  // that its read of the notes starts within the text's first kilobyte (see above); the parts of a due
  // sync follow it.
  return sql`with found as (${callerFans(userId, target)}),
    one as (select id, version, purged_through_version, not t as due from (select *, coalesce(${throttled}, false) as t from found where (select count(*) from found) = 1) x where t or ${value('runsDue')}::boolean),
    p as (select page.*, row_number() over (order by page.version, page.id) as page_row from (${page}) page)${refresh ? sql`, ${refresh.parts}` : sql``}
    select case when ${sql.raw(FIRST_ROW)} then ${headColumn} end as head, p.*
    from found left join p on true
    order by p.version, p.id`;
}

/** Whether `clientId` is another user's sync client (then a sync without changes writes nothing). */
function foreignClient(userId: Bound<string>, clientId: Bound<string> | undefined): SQL {
  return clientId
    ? sql`exists (select 1 from ${syncClients} where client_id = ${clientId} and user_id <> ${userId})`
    : sql`false`;
}

/**
 * The parts of a full sync without changes, as CTEs `lease`, `latest`, `purged` and `bumped` (refreshFan's
 * statement, and readOrPlan's when it runs a due sync): when `leaseWhen`, take the fan's lease (`taken`
 * is null for a foreign client, false when another sync holds it); with it, lock the fan row and check
 * that its latest stamps are still the `planned` ones (`fresh`); only then purge the tombstones deleted
 * before `horizon` and set the fan's sync `stamps`. The transaction commits without waiting for the WAL
 * flush (refreshFan says why).
 */
function stampingParts(input: {
  fanRowId: SQL;
  leaseWhen: SQL;
  foreign: SQL;
  planned: { lastFullSyncAt: SQL; lastForcedSyncAt: SQL };
  stamps: { lastFullSyncAt: SQL; lastForcedSyncAt: SQL };
  /** Tombstones deleted before it are purged (ISO 8601). */
  horizon: Bound<string>;
}): SQL {
  const { fanRowId, planned, stamps } = input;
  const fresh = sql`coalesce((select fresh from latest), false)`;
  return sql`lease as materialized (
      select case when ${input.foreign} then null else ${tryTakeLease(fanRowId)} end as taken
      from (select set_config('synchronous_commit', 'off', true)) as no_flush
      where ${input.leaseWhen}
    ), latest as materialized (
      select f.last_full_sync_at, f.last_forced_sync_at,
        f.last_full_sync_at is not distinct from ${planned.lastFullSyncAt}
          and f.last_forced_sync_at is not distinct from ${planned.lastForcedSyncAt} as fresh
      from ${fans} f
      where f.id = ${fanRowId} and coalesce((select taken from lease), false)
      for update of f
    ), purged as (
      delete from ${notes}
      where fan_row_id = ${fanRowId} and deleted_at < ${input.horizon}::timestamptz
        and only_fans_note_id is null and ${fresh}
      returning id, version
    ), bumped as (
      update ${fans} set
        purged_through_version = greatest(purged_through_version, coalesce((select max(version) from purged), 0)),
        last_full_sync_at = ${stamps.lastFullSyncAt},
        last_forced_sync_at = ${stamps.lastForcedSyncAt}
      where id = ${fanRowId} and ${fresh}
      returning purged_through_version
    )`;
}

/**
 * The parts of readOrPlan's statement that run a due sync: refreshFan's, on the fan row the statement
 * resolved (`one`), with the plan made from that row's stamps. They write only when the fan is due (not
 * throttled, not forced), the clientId (if any) is the caller's, the lease was free and the stamps are
 * still the planned ones under the row lock; the page (read before them in the statement, from the same
 * snapshot) may then hold tombstones this purge deletes, which a client applies as it would have
 * before (the purge moves the horizon: services/sync.ts reads the page again if it passed the cursor).
 */
function refreshParts(input: {
  userId: Placeholder;
  clientId: Placeholder | undefined;
  now: Placeholder;
  horizon: Placeholder;
}): { parts: SQL; head: SQL } {
  const now = sql`${input.now}::timestamptz`;
  const foreign = foreignClient(input.userId, input.clientId);
  // `found` is one row here: `one` is empty unless it is.
  return {
    parts: stampingParts({
      fanRowId: sql`(select id from one)`,
      leaseWhen: sql`(select due from one)`,
      foreign,
      planned: {
        lastFullSyncAt: sql`(select last_full_sync_at from found)`,
        lastForcedSyncAt: sql`(select last_forced_sync_at from found)`,
      },
      // The stamps as sync-core's afterFullSync sets them after a sync that is not forced: the full
      // sync's is now, the forced one's is kept, but brought back to now if it is ahead of it (clock skew).
      stamps: {
        lastFullSyncAt: now,
        lastForcedSyncAt: sql`case when last_forced_sync_at > ${now} then ${now} else last_forced_sync_at end`,
      },
      horizon: input.horizon,
    }),
    head: sql`jsonb_build_object(
      'refresh.due', coalesce((select due from one), false),
      'refresh.foreign', ${foreign},
      'lease.taken', (select taken from lease),
      'latest.fresh', (select fresh from latest),
      'latest.last_full_sync_at', (select last_full_sync_at from latest),
      'latest.last_forced_sync_at', (select last_forced_sync_at from latest),
      'fan.purged_through_version', (select purged_through_version from bumped))`,
  };
}

/** What the due sync of readOrPlan's statement did, as refreshFan reports it (its page apart). */
function refreshedFrom(head: Record<string, unknown>): Refreshed {
  if (head['refresh.foreign'] === true) return { outcome: 'foreign-client' };
  const leased = head['lease.taken'] === true;
  return {
    outcome: !leased ? 'busy' : head['latest.fresh'] === true ? 'synced' : 'stale',
    version: Number(head.version),
    purgedThroughVersion: Number(head['fan.purged_through_version'] ?? head.purged_through_version),
    latest: leased
      ? {
          lastFullSyncAt: decodeStamp(head['latest.last_full_sync_at']),
          lastForcedSyncAt: decodeStamp(head['latest.last_forced_sync_at']),
        }
      : null,
    client: null,
    rows: [],
  };
}

const decodeStamp = (value: unknown) =>
  value === null || value === undefined ? null : (fans.lastFullSyncAt.mapFromDriverValue(value) as Date);

/** Whether a row of readOrPlan is its first (its head is on that one only). */
const FIRST_ROW = 'p.page_row is null or p.page_row = 1';

function decodeResolved(raw: Record<string, unknown>): { fan: FanRow; role: Role } {
  return { fan: decodeRow(fans, raw)!, role: raw['member.role'] as Role };
}

/**
 * The `head` column of a statement that answers with a page: what it says about the fan (and its
 * lease, its client), as one JSON object on the first row only. One column, not one per field: the
 * driver builds each row as an object, and a V8 object of 20 properties or more takes a slower, larger
 * shape (a page of 1,600 rows of 26 columns built 5.8 MB instead of 1.8).
 */
function headOf(row: Record<string, unknown>): Record<string, unknown> {
  const head = row.head;
  return (typeof head === 'string' ? JSON.parse(head) : head) as Record<string, unknown>;
}

export interface RefreshInput {
  fan: FanRow;
  userId: string;
  clientId: string | undefined;
  now: Date;
  /** Tombstones deleted before this are purged (DESIGN.md: the tombstone horizon). */
  horizon: Date;
  /**
   * The fan's sync stamps the plan was made from: the sync goes ahead only if they are still the
   * fan's stamps under its row lock (another full sync in between changed them: `stale`).
   */
  plannedFrom: { lastFullSyncAt: Date | null; lastForcedSyncAt: Date | null };
  fanState: { lastFullSyncAt: Date | null; lastForcedSyncAt: Date | null };
  page: PageSpec;
  /** Read the page even when the lease is busy (a plain reader is answered from stored notes). */
  readWhenBusy: boolean;
  limit: number;
}

export type Refreshed =
  | {
      /**
       * `synced`: the lease was taken and the plan still held, the fan was stamped. `stale`: the lease
       * was taken but another full sync changed the stamps after the plan was made (`latest`), nothing
       * was written. `busy`: another full sync holds the lease; `rows` only with `readWhenBusy`.
       */
      outcome: 'synced' | 'stale' | 'busy';
      version: number;
      purgedThroughVersion: number;
      latest: { lastFullSyncAt: Date | null; lastForcedSyncAt: Date | null } | null;
      client: ClientRow | null;
      /** The page's rows (read-notes.ts notesPage), ordered by (version, id). */
      rows: PageRow[];
    }
  | { outcome: 'foreign-client' };

/**
 * A full sync without changes in one statement, outside any explicit transaction: take the fan's lease
 * (held to the end of the statement), lock the fan row and check, on its latest version, that its sync
 * stamps are still those the plan was made from; only then purge tombstones past the horizon and stamp
 * the fan's sync times. The page is read with the fan's version either way (a read needs no lease).
 *
 * Why the stamps are checked under the lock: the plan (sync-core's planSync) was made from the fan row
 * read before this statement. Two forced syncs could both plan "forced" and take the lease one after
 * the other; without the check both ran, and the force floor was not atomic (40 simultaneous forced
 * syncs over two processes ran up to 11 in 5 s). `FOR UPDATE` on the fan row returns its latest
 * committed version whatever this statement's snapshot saw, so the check cannot miss a sync that
 * committed in between; the caller re-plans from `latest`.
 *
 * Writing no notes, it needs no lock beyond that: the page and the cursor (the version) come from the
 * statement's one snapshot, and the purge moves the fan's purge horizon in the same statement, so a
 * reader sees both or neither.
 *
 * It commits without waiting for its WAL to reach the disk (`synchronous_commit` off for its own
 * transaction, as the pokes, packages/db notify.ts): it writes only bookkeeping, the sync stamps and a
 * purge of old tombstones, never a note. A crash within the WAL writer's delay (under a second) may
 * undo it whole, never in part: the fan is then synced again sooner than its interval, and its old
 * tombstones purged again later, and every client's cursor still holds (the fan's version is not moved
 * here). Nothing is written unless the lease was taken, the plan still held and
 * the clientId, if any, is the caller's.
 */
export async function refreshFan(db: Database, input: RefreshInput): Promise<Refreshed> {
  const { fan } = input;
  const stamp = (date: Date | null) => date?.toISOString() ?? null;
  const clientCte = input.clientId
    ? sql`select user_id, client_id, last_mutation_id from ${syncClients} where client_id = ${input.clientId}`
    : sql`select null::uuid as user_id, null::uuid as client_id, null::bigint as last_mutation_id where false`;
  const rows = await executeRows(
    db,
    sql`with client as (${clientCte}), ${stampingParts({
      fanRowId: sql`${fan.id}::uuid`,
      leaseWhen: sql`true`,
      foreign: foreignClient(input.userId, input.clientId),
      planned: {
        lastFullSyncAt: sql`${stamp(input.plannedFrom.lastFullSyncAt)}::timestamptz`,
        lastForcedSyncAt: sql`${stamp(input.plannedFrom.lastForcedSyncAt)}::timestamptz`,
      },
      stamps: {
        lastFullSyncAt: sql`${stamp(input.fanState.lastFullSyncAt)}::timestamptz`,
        lastForcedSyncAt: sql`${stamp(input.fanState.lastForcedSyncAt)}::timestamptz`,
      },
      horizon: input.horizon.toISOString(),
    })}, page as (select p.*, row_number() over (order by p.version, p.id) as page_row from (${notesPage({
      fanRowId: sql`${fan.id}`,
      page: input.page,
      limit: input.limit,
      where: sql`(coalesce((select taken from lease), false) or ${input.readWhenBusy}::boolean)
        and n.id not in (select id from purged)`,
    })}) p)
    select case when page.page_row is null or page.page_row = 1 then ${REFRESH_HEAD} end as head, page.*
    from ${fans} f left join bumped on true left join latest on true left join client c on true
      left join page on true
    where f.id = ${fan.id}
    order by page.version, page.id`,
  );
  if (!rows[0]) throw fanNotFound();
  const first = headOf(rows[0]);
  if (first['lease.taken'] === null) return { outcome: 'foreign-client' };
  const leased = first['lease.taken'] === true;
  return {
    outcome: !leased ? 'busy' : first['latest.fresh'] === true ? 'synced' : 'stale',
    version: Number(first['fan.version']),
    purgedThroughVersion: Number(first['fan.purged_through_version'] ?? fan.purgedThroughVersion),
    latest: leased
      ? {
          lastFullSyncAt: decodeStamp(first['latest.last_full_sync_at']),
          lastForcedSyncAt: decodeStamp(first['latest.last_forced_sync_at']),
        }
      : null,
    client: decodeClient(first),
    // Without notes, the page's side of the outer join is one row of nulls.
    rows: rows.filter((raw) => raw.id !== null),
  };
}

/** refreshFan's answer about the fan, its lease and its client: its first row's `head` (headOf). */
const REFRESH_HEAD = sql.raw(
  `json_build_object(${[
    ['lease.taken', '(select taken from lease)'],
    ['fan.version', 'f.version'],
    ['fan.purged_through_version', 'bumped.purged_through_version'],
    ['latest.fresh', 'latest.fresh'],
    ['latest.last_full_sync_at', 'latest.last_full_sync_at'],
    ['latest.last_forced_sync_at', 'latest.last_forced_sync_at'],
    ['client.client_id', 'c.client_id'],
    ['client.user_id', 'c.user_id'],
    ['client.last_mutation_id', 'c.last_mutation_id'],
  ]
    .map(([name, value]) => `'${name}', ${value}`)
    .join(', ')})`,
);

export interface CloseInput {
  fan: FanRow;
  now: Date;
  /** Rows to write: every created or changed note in its new state. */
  values: (typeof notes.$inferInsert)[];
  /** The fan's new version when this sync changed what clients see; unchanged otherwise. */
  version: number;
  touched: boolean;
  /** How many more (or fewer) of the fan's notes are live (fans.live_note_count). */
  liveDelta: number;
  /** Tombstones deleted before this are purged (DESIGN.md: the tombstone horizon). */
  horizon: Date;
  fanState: {
    lastFullSyncAt: Date | null;
    lastForcedSyncAt: Date | null;
    /** Set when this sync merged an OnlyFans snapshot. */
    onlyFansSnapshotDigest?: string | undefined;
  };
  /**
   * The client's new last mutation id, when it moved, and why the mutations it rejected were
   * rejected (recorded for a client that sends them again: lockForPush).
   */
  client?:
    | { clientId: string; lastMutationId: number; rejections: readonly { id: number; reason: string }[] }
    | undefined;
  /** The page to read: the full live set (reset), or the notes after the position `since`. */
  page: PageSpec;
  limit: number;
}

/** A CTE that records why the client's mutations were rejected (or refused). */
export function recordRejections(
  /** `rejections`: `[{ id, reason }]` as JSON (rejectionsJson). */
  client: { clientId: Bound<string>; rejections: Bound<string> },
  now: Bound<string>,
): SQL {
  return sql`rejected as (
    insert into ${syncRejections} (client_id, mutation_id, reason, created_at)
    select ${client.clientId}::uuid, x.id, x.reason, ${now}::timestamptz
    from jsonb_to_recordset(${client.rejections}::text::jsonb) as x(id bigint, reason text)
    on conflict (client_id, mutation_id) do update set reason = excluded.reason
  )`;
}

export interface Closed {
  /** Page rows (read-notes.ts notesPage) ordered by (version, id), as they are after this statement. */
  rows: PageRow[];
  purgedThroughVersion: number;
}

/**
 * The rest of a push in one statement, returned with its parameters bound for pipelinedTransaction
 * to send with the COMMIT behind it (its text made once per shape, CloseShape): upsert the changed
 * notes, purge tombstones past the horizon (except those still tied to an OnlyFans note, i.e. notes
 * the CRM deleted that OnlyFans still lists: without the tombstone the next snapshot would import the
 * note again; a note OnlyFans drops lets go of its id, sync-core's merge.ts, so no tombstone is kept
 * for a note OnlyFans no longer has), bump the fan (version, purge horizon, sync stamps), record the
 * client's last mutation id, and read the page. The page is read from the statement's snapshot (the
 * notes as they were under the lock) with the rows this statement wrote in place of their old
 * versions and the purged ones left out: exactly what a read after the writes would return.
 */
export function closeFullSync(db: Transaction, input: CloseInput): Query {
  const { fan } = input;
  const before = new Set(input.values.map((row) => row.id));
  // A changed note that ends as a purgeable tombstone (older than the horizon, tied to no OnlyFans
  // note) is purged, not written: a purge after the upsert would delete it. This happens when OnlyFans
  // drops a note the CRM deleted long ago: the merge unties that tombstone from its OnlyFans id.
  const purgedAfterWrite = input.values.filter(
    (row) => row.deletedAt && row.deletedAt < input.horizon && row.onlyFansNoteId == null,
  );
  const purgedIds = new Set(purgedAfterWrite.map((row) => row.id));
  const written = input.values.filter((row) => !purgedIds.has(row.id));
  const { page, client } = input;
  const shape: CloseShape = {
    written: written.length > 0,
    touched: input.touched,
    liveDelta: input.liveDelta !== 0,
    digest: input.fanState.onlyFansSnapshotDigest !== undefined,
    client: client !== undefined,
    rejections: client !== undefined && client.rejections.length > 0,
    page: page.reset ? 'reset' : page.since.afterId === null ? 'version' : 'position',
    limit: input.limit,
  };
  const values: Record<CloseValue, unknown> = {
    fanRowId: fan.id,
    now: input.now.toISOString(),
    horizon: input.horizon.toISOString(),
    written: written.length > 0 ? noteRowsJson(written) : null,
    changedIds: textArray(before),
    purgedIds: textArray(purgedIds),
    purgedAfterWriteMax: Math.max(0, ...purgedAfterWrite.map((row) => row.version)),
    version: input.version,
    liveDelta: input.liveDelta,
    lastFullSyncAt: input.fanState.lastFullSyncAt?.toISOString() ?? null,
    lastForcedSyncAt: input.fanState.lastForcedSyncAt?.toISOString() ?? null,
    digest: input.fanState.onlyFansSnapshotDigest ?? null,
    clientId: client?.clientId ?? null,
    lastMutationId: client?.lastMutationId ?? null,
    rejections: client ? JSON.stringify(client.rejections) : null,
    sinceVersion: page.reset ? null : page.since.version,
    sinceAfterId: page.reset ? null : page.since.afterId,
  };
  return closeStatements.bind(db, shape, values);
}

/** What decides the text of closeFullSync's statement; everything else is a value (CloseValue). */
type CloseShape = {
  written: boolean;
  touched: boolean;
  liveDelta: boolean;
  digest: boolean;
  client: boolean;
  rejections: boolean;
  page: 'reset' | 'version' | 'position';
  limit: number;
};

type CloseValue =
  | 'fanRowId'
  | 'now'
  | 'horizon'
  | 'written'
  | 'changedIds'
  | 'purgedIds'
  | 'purgedAfterWriteMax'
  | 'version'
  | 'liveDelta'
  | 'lastFullSyncAt'
  | 'lastForcedSyncAt'
  | 'digest'
  | 'clientId'
  | 'lastMutationId'
  | 'rejections'
  | 'sinceVersion'
  | 'sinceAfterId';

const closeStatements = new StatementShapes<CloseShape>(closeStatement);

/** closeFullSync's statement for one shape, its values as placeholders (CloseValue). */
function closeStatement(shape: CloseShape): SQL {
  const value = (name: CloseValue) => sql.placeholder(name);
  const fanRowId = value('fanRowId');
  const now = value('now');
  const changedIds = value('changedIds');
  const parts: SQL[] = [];
  if (shape.written) parts.push(sql`written as (${upsertNotes(value('written'))})`);
  parts.push(sql`purged as (
    delete from ${notes}
    where fan_row_id = ${fanRowId}
      and ((deleted_at < ${value('horizon')}::timestamptz and only_fans_note_id is null and id <> all(${changedIds}::text[]))
        or id = any(${value('purgedIds')}::text[]))
    returning id, version
  )`);
  parts.push(sql`bumped as (
    update ${fans} set
      ${shape.touched ? sql`version = ${value('version')}, updated_at = ${now}::timestamptz,` : sql``}
      ${shape.liveDelta ? sql`live_note_count = live_note_count + ${value('liveDelta')},` : sql``}
      purged_through_version = greatest(
        purged_through_version, coalesce((select max(version) from purged), 0), ${value('purgedAfterWriteMax')}::bigint),
      last_full_sync_at = ${value('lastFullSyncAt')}::timestamptz,
      last_forced_sync_at = ${value('lastForcedSyncAt')}::timestamptz
      ${shape.digest ? sql`, only_fans_snapshot_digest = ${value('digest')}` : sql``}
    where id = ${fanRowId}
    returning purged_through_version
  )`);
  if (shape.client) {
    const clientId = value('clientId');
    parts.push(sql`recorded as (
      update ${syncClients} set last_mutation_id = ${value('lastMutationId')},
        updated_at = ${now}::timestamptz
      where client_id = ${clientId}
    )`);
    if (shape.rejections) parts.push(recordRejections({ clientId, rejections: value('rejections') }, now));
  }
  const since: BoundPosition = {
    version: value('sinceVersion'),
    afterId: shape.page === 'position' ? value('sinceAfterId') : null,
  };
  const page = notesPage({
    fanRowId: sql`${fanRowId}`,
    page: shape.page === 'reset' ? { reset: true } : { reset: false, since },
    limit: shape.limit,
    where: sql`n.id <> all(${changedIds}::text[]) and n.id not in (select id from purged)`,
    written: shape.written ? sql.raw('written') : undefined,
  });
  parts.push(sql`page as (${page})`);

  return sql`with ${sql.join(parts, sql`, `)}
    select bumped.purged_through_version as "fan.purged_through_version", page.*
    from bumped left join page on true
    order by page.version, page.id`;
}

/** What closeFullSync's statement answered, for `fan` (the fan row it closed). */
export function closedFromRows(fan: FanRow, rows: Record<string, unknown>[]): Closed {
  return {
    // Without notes, the page's side of the outer join is one row of nulls.
    rows: rows.filter((raw) => raw.id !== null),
    purgedThroughVersion: Number(rows[0]?.['fan.purged_through_version'] ?? fan.purgedThroughVersion),
  };
}
