import type { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { migratePostgresDatabase } from './migrate.ts';
import { enablePipelinedTransactions } from './pipelined-transaction.ts';
import { postgresQueryCounter } from './query-count.ts';
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
  /** LISTEN on one channel (listen.ts builds on it); set by openPostgres and openPglite. */
  listen?: RawListen;
}

/**
 * The driver's LISTEN: `onNotify` gets each payload; `onListen` runs each time the LISTEN is in force
 * (first, and again after postgres.js re-established its dedicated connection).
 */
export type RawListen = (
  channel: string,
  onNotify: (payload: string) => void,
  onListen: () => void,
) => Promise<{ close(): Promise<void> }>;

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
  /** Count statements and round trips for `withQueryCount` (a benchmark's debug aid; default false). */
  countQueries?: boolean;
  /**
   * Use named prepared statements (default true): each statement text is parsed once per connection,
   * then every call is one round trip. Unnamed statements with parameters cost two (postgres.js
   * describes them first to learn the parameter types). Turn off behind a pooler in transaction mode
   * (PgBouncer, Supavisor port 6543), which cannot keep prepared statements.
   */
  prepare?: boolean;
}

type PostgresClient = ReturnType<typeof postgres>;

/**
 * drizzle asks postgres.js for unnamed statements (`prepare: false`) unless a query is built with
 * `.prepare(name)`; this makes every statement named, transactions and savepoints included. postgres.js
 * keys its per-connection cache by statement text and parameter types, as the server does.
 */
function preparedByDefault<T extends Pick<PostgresClient, 'unsafe'>>(client: T): T {
  const unsafe = client.unsafe.bind(client);
  const methods = client as unknown as Record<string, (...args: unknown[]) => unknown>;
  client.unsafe = ((query: string, parameters?: unknown[], options?: object) =>
    unsafe(query, parameters as never, { ...options, prepare: true })) as T['unsafe'];
  for (const name of ['begin', 'savepoint'] as const) {
    const original = methods[name];
    if (typeof original !== 'function') continue;
    methods[name] = (...args: unknown[]) => {
      const callback = args.at(-1) as (inner: T) => unknown;
      return original.call(client, ...args.slice(0, -1), (inner: T) => callback(preparedByDefault(inner)));
    };
  }
  return client;
}

/**
 * One statement at a time per connection: a statement waits in the pool's queue for the first free
 * connection, never pipelined behind another one's, which may wait seconds on a row lock (an unrelated
 * request then waited as long). Needs the patched driver: with max_pipeline 0 an unpatched 3.4.9 fails
 * every transaction (porsager/postgres#1210; patches/README.md). Apart from the literal because the
 * driver's types do not declare the option.
 */
const ONE_STATEMENT_PER_CONNECTION = { max_pipeline: 0 };

/** PostgreSQL through postgres.js, the engine production runs on. */
export async function openPostgres(options: PostgresOptions): Promise<DatabaseHandle> {
  if (options.migrate ?? true) await migratePostgresDatabase(options.url);
  const prepare = options.prepare ?? true;
  const created = postgres(options.url, {
    max: options.maxConnections ?? 10,
    ...ONE_STATEMENT_PER_CONNECTION,
    connect_timeout: 5,
    // postgres.js waits before reconnecting after a failed connection, up to 20 s by default, and
    // queries queue behind that wait: during an outage requests hung instead of failing fast, and after
    // a restart the API took up to 20 s to notice. At most 1 s keeps both bounded (connect_timeout + 1 s).
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
    idle_timeout: 30,
    onnotice: () => {},
    ...(options.countQueries ? { debug: postgresQueryCounter(prepare) } : {}),
    connection: {
      application_name: 'fannotes-api',
      statement_timeout: options.statementTimeoutMs ?? 10_000,
      lock_timeout: options.lockTimeoutMs ?? 5_000,
      // Every statement of the API looks rows up by indexed keys, so the best plan does not depend on
      // the parameters' values. By default PostgreSQL plans a prepared statement afresh for its first
      // five runs, then keeps a generic plan only if its estimate is no worse than theirs: the sync's
      // statements (CTEs) were planned again on every call, which cost a push a third of its
      // throughput (docs/PERFORMANCE.md). Planned once per connection instead.
      plan_cache_mode: 'force_generic_plan',
    },
  });
  const client = prepare ? preparedByDefault(created) : created;
  const db: Database = drizzlePostgres(client, { schema });
  enablePipelinedTransactions(db, created, { prepare });
  return {
    db,
    kind: 'postgres',
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close: () => client.end({ timeout: 5 }),
    // postgres.js holds one dedicated connection for all of a client's LISTENs, outside the pool.
    listen: async (channel, onNotify, onListen) => {
      const listening = await created.listen(channel, onNotify, onListen);
      return { close: async () => void (await listening.unlisten()) };
    },
  };
}

export interface PgliteOptions {
  /** Directory to persist to; omitted: in memory. Exactly one process may own a directory. */
  dataDir?: string;
  /** A data directory dump (`PGlite.dumpDataDir()`) to start from. */
  loadDataDir?: Blob | File;
  migrate?: boolean;
  /** Count statements for `withQueryCount` (default false). */
  countQueries?: boolean;
}

/**
 * The embedded database (PGlite): for one developer machine and the test suite, not production. Its
 * driver lives in pglite.ts, loaded on first use (a chunk of its own in the API's bundle): a process on
 * PostgreSQL never loads PGlite's modules and WASM loader, nor holds their code for its whole life.
 */
export async function openPglite(options: PgliteOptions = {}): Promise<DatabaseHandle & { pglite: PGlite }> {
  const { openPgliteDriver } = await import('./pglite.ts');
  return openPgliteDriver(options);
}

/** PostgreSQL when a URL is given, else PGlite persisted under `dataDir`. */
export function openDatabase(options: {
  url?: string | undefined;
  dataDir: string;
  maxConnections?: number;
  countQueries?: boolean;
  prepare?: boolean;
}): Promise<DatabaseHandle> {
  const countQueries = options.countQueries ?? false;
  return options.url
    ? openPostgres({
        url: options.url,
        countQueries,
        prepare: options.prepare ?? true,
        ...(options.maxConnections ? { maxConnections: options.maxConnections } : {}),
      })
    : openPglite({ dataDir: options.dataDir, countQueries });
}
