import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import * as schema from './schema/index.ts';

/** The one database type the app sees, whichever driver is underneath. */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;
/** A transaction handle: the same query API as `Database`. */
export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

export interface DatabaseHandle {
  db: Database;
  kind: 'postgres' | 'pglite';
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const migrationsFolder = fileURLToPath(new URL('../migrations', import.meta.url));

// Any constant works; it only has to be the same in every process that migrates this database.
const MIGRATION_LOCK_KEY = 7_226_001;

export interface PostgresOptions {
  url: string;
  /** Upper bound on connections this process opens (default 10). */
  maxConnections?: number;
  /** Server-side cap on one statement, in ms (default 10 s): a stuck query becomes an error, not a hang. */
  statementTimeoutMs?: number;
  /** Cap on waiting for a row lock, in ms (default 5 s). */
  lockTimeoutMs?: number;
  /** Apply pending migrations before returning (default true). */
  migrate?: boolean;
}

/** PostgreSQL through postgres.js, the engine production runs on. */
export async function openPostgres(options: PostgresOptions): Promise<DatabaseHandle> {
  if (options.migrate ?? true) await migratePostgresDatabase(options.url);
  const client = postgres(options.url, {
    max: options.maxConnections ?? 10,
    connect_timeout: 5,
    idle_timeout: 30,
    onnotice: () => {},
    connection: {
      application_name: 'fannotes-api',
      statement_timeout: options.statementTimeoutMs ?? 10_000,
      lock_timeout: options.lockTimeoutMs ?? 5_000,
    },
  });
  const db: Database = drizzlePostgres(client, { schema });
  return {
    db,
    kind: 'postgres',
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close: () => client.end({ timeout: 5 }),
  };
}

/**
 * Applies migrations under a session advisory lock held on a dedicated single connection, so that
 * several API processes starting together migrate once, one after another.
 */
async function migratePostgresDatabase(url: string): Promise<void> {
  const client = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    await client`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    await migratePostgres(drizzlePostgres(client), { migrationsFolder });
    await client`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
  } finally {
    await client.end({ timeout: 5 });
  }
}

export interface PgliteOptions {
  /** Directory to persist to; omitted: in memory. Exactly one process may own a directory. */
  dataDir?: string;
  /** A data directory dump (`PGlite.dumpDataDir()`) to start from. */
  loadDataDir?: Blob | File;
  migrate?: boolean;
}

/** The embedded database (PGlite): for one developer machine and the test suite, not production. */
export async function openPglite(options: PgliteOptions = {}): Promise<DatabaseHandle & { pglite: PGlite }> {
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  const client = new PGlite({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
  });
  await client.waitReady;
  const db = drizzlePglite(client, { schema });
  if (options.migrate ?? true) await migratePglite(db, { migrationsFolder });
  return {
    db: db as unknown as Database,
    kind: 'pglite',
    pglite: client,
    ping: async () => {
      await client.query('select 1');
    },
    close: () => client.close(),
  };
}

/** PostgreSQL when a URL is given, else PGlite persisted under `dataDir`. */
export function openDatabase(options: {
  url?: string | undefined;
  dataDir: string;
  maxConnections?: number;
}): Promise<DatabaseHandle> {
  return options.url
    ? openPostgres({
        url: options.url,
        ...(options.maxConnections ? { maxConnections: options.maxConnections } : {}),
      })
    : openPglite({ dataDir: options.dataDir });
}
