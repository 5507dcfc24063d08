import { randomBytes, randomUUID } from 'node:crypto';
import type { Role } from '@fannotes/contract';
import { accounts, fans, invites, memberships, notes, openPostgres, type Database } from '@fannotes/db';
import { createTestDatabase, type TestDatabase } from '@fannotes/db/testing';
import { sql, type SQL } from 'drizzle-orm';
import { serverUrl } from './config.ts';

/** What the suite's own connections call themselves, so that they are never taken for the API's. */
export const ADMIN_APPLICATION = 'hardening-admin';
/** What the API's connections call themselves (packages/db/src/open.ts). */
export const API_APPLICATION = 'fannotes-api';

export interface HardeningDatabase {
  /** The database's URL as the API processes get it. */
  url: string;
  name: string;
  /** The suite's own connections (application_name hardening-admin). */
  admin: Database;
  close: () => Promise<void>;
}

function withApplicationName(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('application_name', name);
  return parsed.toString();
}

/**
 * A fresh migrated database on DATABASE_URL's server for one test file, dropped on close. The suite's
 * connections carry their own application name (a URL parameter overrides the client's default), so
 * pg_stat_activity tells them from the API processes' connections.
 */
export async function createHardeningDatabase(options: { server?: string } = {}): Promise<HardeningDatabase> {
  const test: TestDatabase = await createTestDatabase({
    url: withApplicationName(options.server ?? serverUrl(), ADMIN_APPLICATION),
    maxConnections: 4,
  });
  const url = new URL(test.url!);
  url.search = '';
  return { url: url.toString(), name: url.pathname.slice(1), admin: test.db, close: () => test.close() };
}

/** An extra connection pool of the suite on the same database (e.g. to hold a lock in a transaction). */
export async function openAdmin(url: string, maxConnections = 2) {
  return openPostgres({ url: withApplicationName(url, ADMIN_APPLICATION), maxConnections, migrate: false });
}

/** Rows of a raw query (postgres.js answers with an array of rows). */
export async function rows<T>(db: Database, query: SQL): Promise<T[]> {
  const result: unknown = await db.execute(query);
  return result as T[];
}

export async function one<T>(db: Database, query: SQL): Promise<T> {
  const [row] = await rows<T>(db, query);
  if (row === undefined) throw new Error('expected a row');
  return row;
}

export interface SeededAccount {
  accountId: string;
  onlyFansUserId: string;
  /** One member per role, plus the extra users asked for. */
  users: Record<Role, string> & Record<string, string>;
  /** fanId -> the fan's row id. */
  fans: Record<string, string>;
}

let seededAccounts = 0;

/**
 * An account with one member per role (and `extra` members), and fans; rows written directly: the
 * fixture, not the subject.
 */
export async function seedAccount(
  db: Database,
  options: { fanIds?: string[]; extra?: Record<string, Role>; onlyFansUserId?: string } = {},
): Promise<SeededAccount> {
  const now = new Date();
  const onlyFansUserId =
    options.onlyFansUserId ?? String(1_000_000 + process.pid * 1000 + ++seededAccounts * 7919);
  const users: Record<string, string> = {
    owner: randomUUID(),
    manager: randomUUID(),
    chatter: randomUUID(),
    viewer: randomUUID(),
  };
  const roles: Record<string, Role> = {
    owner: 'owner',
    manager: 'manager',
    chatter: 'chatter',
    viewer: 'viewer',
  };
  for (const [name, role] of Object.entries(options.extra ?? {})) {
    users[name] = randomUUID();
    roles[name] = role;
  }
  const [account] = await db
    .insert(accounts)
    .values({
      onlyFansUserId,
      username: `creator_${onlyFansUserId}`,
      createdBy: users.owner!,
      createdAt: now,
    })
    .returning();
  await db.insert(memberships).values(
    Object.entries(users).map(([name, userId]) => ({
      accountId: account!.id,
      userId,
      role: roles[name]!,
      createdAt: now,
      updatedAt: now,
    })),
  );
  const fanRows = await db
    .insert(fans)
    .values(
      (options.fanIds ?? ['12345']).map((fanId) => ({
        accountId: account!.id,
        fanId,
        createdAt: now,
        updatedAt: now,
      })),
    )
    .returning();
  return {
    accountId: account!.id,
    onlyFansUserId,
    users: users as SeededAccount['users'],
    fans: Object.fromEntries(fanRows.map((fan) => [fan.fanId, fan.id])),
  };
}

/** Adds (or changes the role of) a member directly. */
export async function addMembership(
  db: Database,
  accountId: string,
  userId: string,
  role: Role,
): Promise<void> {
  const now = new Date();
  await db
    .insert(memberships)
    .values({ accountId, userId, role, createdAt: now, updatedAt: now })
    .onConflictDoUpdate({
      target: [memberships.accountId, memberships.userId],
      set: { role, updatedAt: now },
    });
}

/** A live invite written directly (fixture): its code is unknown to everyone (a random hash). Its id. */
export async function seedInvite(db: Database, account: SeededAccount, role: Role): Promise<string> {
  const now = new Date();
  const [invite] = await db
    .insert(invites)
    .values({
      accountId: account.accountId,
      codeHash: randomBytes(32).toString('hex'),
      codeHint: 'TEST',
      role,
      createdBy: account.users.owner,
      createdAt: now,
      expiresAt: new Date(now.getTime() + 24 * 3600 * 1000),
      maxUses: 5,
    })
    .returning({ id: invites.id });
  return invite!.id;
}

/** A note written directly (fixture), stamped with the fan's next version. */
export async function seedNote(
  db: Database,
  account: SeededAccount,
  fanId: string,
  fields: { content: string; onlyFansNoteId?: string; isPinned?: boolean },
): Promise<string> {
  const id = `note_${randomUUID()}`;
  const fanRowId = account.fans[fanId]!;
  const now = new Date();
  await db.transaction(async (tx) => {
    const bumped: unknown = await tx.execute(
      sql`update fans set version = version + 1, live_note_count = live_note_count + 1
          where id = ${fanRowId} returning version`,
    );
    const [fan] = bumped as { version: number }[];
    const version = Number(fan!.version);
    await tx.insert(notes).values({
      id,
      fanRowId,
      accountId: account.accountId,
      content: fields.content,
      source: fields.onlyFansNoteId ? 'onlyfans' : 'onlyautomator',
      onlyFansNoteId: fields.onlyFansNoteId ?? null,
      importedContent: fields.onlyFansNoteId ? fields.content : null,
      isPinned: fields.isPinned ?? false,
      version,
      contentVersion: version,
      createdAt: now,
      updatedAt: now,
      createdBy: account.users.owner,
      updatedBy: account.users.owner,
    });
  });
  return id;
}

/**
 * Every row that belongs to an account, as text: the account, its memberships, fans, notes and
 * the sync clients of its members (but `exceptUser`'s). Two equal snapshots mean nothing of the
 * account changed, byte for byte.
 */
export async function accountSnapshot(
  db: Database,
  accountId: string,
  exceptUser: string | null = null,
): Promise<string> {
  const [row] = await rows<{ snapshot: string }>(
    db,
    sql`select concat_ws(E'\n',
          (select coalesce(string_agg(t::text, E'\n' order by t::text), '') from accounts t where t.id = ${accountId}),
          (select coalesce(string_agg(t::text, E'\n' order by t::text), '') from memberships t where t.account_id = ${accountId}),
          (select coalesce(string_agg(t::text, E'\n' order by t::text), '') from fans t where t.account_id = ${accountId}),
          (select coalesce(string_agg(t::text, E'\n' order by t::text), '') from notes t where t.account_id = ${accountId}),
          (select coalesce(string_agg(t::text, E'\n' order by t::text), '') from invites t where t.account_id = ${accountId}),
          (select coalesce(string_agg(t::text, E'\n' order by t::text), '') from sync_clients t
             where t.user_id in (select user_id from memberships where account_id = ${accountId})
               and t.user_id is distinct from ${exceptUser}::uuid)
        ) as snapshot`,
  );
  return row!.snapshot;
}

/** A digest of every row of every table: equal digests mean no row anywhere changed. */
export async function databaseDigest(db: Database): Promise<string> {
  const [row] = await rows<{ digest: string }>(
    db,
    sql`select md5(concat_ws('|',
          (select string_agg(t::text, ',' order by t::text) from accounts t),
          (select string_agg(t::text, ',' order by t::text) from memberships t),
          (select string_agg(t::text, ',' order by t::text) from fans t),
          (select string_agg(t::text, ',' order by t::text) from notes t),
          (select string_agg(t::text, ',' order by t::text) from invites t),
          (select string_agg(t::text, ',' order by t::text) from profiles t),
          (select string_agg(t::text, ',' order by t::text) from sync_clients t))) as digest`,
  );
  return row!.digest;
}

/**
 * The API processes' sessions on this database (the suite's own are left out by name). A process started
 * with `?application_name=<name>` in its DATABASE_URL is told apart by that name.
 */
export async function apiBackends(
  db: Database,
  applicationName: string = API_APPLICATION,
): Promise<{ pid: number; state: string; waiting: boolean; listening: boolean }[]> {
  const found = await rows<{
    pid: number;
    state: string | null;
    wait_event_type: string | null;
    query: string | null;
  }>(
    db,
    sql`select pid, state, wait_event_type, query from pg_stat_activity
        where datname = current_database() and application_name = ${applicationName}`,
  );
  return found.map((row) => ({
    pid: row.pid,
    state: row.state ?? '',
    waiting: row.wait_event_type === 'Lock',
    // The process's one connection for live updates (LISTEN fan_changes), outside its pool.
    listening: /^\s*listen\b/i.test(row.query ?? ''),
  }));
}

/** Terminates the given backends; returns how many were terminated. */
export async function terminate(db: Database, pids: number[]): Promise<number> {
  if (pids.length === 0) return 0;
  const result = await rows<{ done: boolean }>(
    db,
    sql`select pg_terminate_backend(pid) as done from unnest(${sql.raw(`array[${pids.map(Number).join(',')}]`)}::int[]) as pid`,
  );
  return result.filter((row) => row.done).length;
}

/**
 * Holds `select ... for update` on rows from a separate connection, in an open transaction, until
 * `release()`: a stand-in for a long transaction of someone else.
 */
export async function holdLock(
  url: string,
  lockQuery: SQL,
): Promise<{ pid: number; release: () => Promise<void> }> {
  const handle = await openAdmin(url, 1);
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked!: (pid: number) => void;
  const pid = new Promise<number>((resolve) => (locked = resolve));
  const transaction = handle.db.transaction(async (tx) => {
    const result: unknown = await tx.execute(sql`select pg_backend_pid() as pid`);
    const [row] = result as { pid: number }[];
    await tx.execute(lockQuery);
    locked(row!.pid);
    await released;
  });
  transaction.catch(() => undefined);
  return {
    pid: await Promise.race([
      pid,
      transaction.then(() => Promise.reject(new Error('the lock transaction ended'))),
    ]),
    release: async () => {
      release();
      await transaction.catch(() => undefined);
      await handle.close();
    },
  };
}

/**
 * Advisory locks held in this database (pg_locks lists the whole server's): a sync's lease
 * (src/services/lease.ts) must never outlive its request.
 */
export async function leasesHeld(db: Database): Promise<number> {
  const [row] = await rows<{ count: number }>(
    db,
    sql`select count(*)::int as count from pg_locks
        where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())`,
  );
  return Number(row!.count);
}
