import { join } from 'node:path';
import {
  createFanChangeNotifier,
  openDatabase,
  type DatabaseHandle,
  type FanChangeNotifier,
} from '@fannotes/db';
import { DEV_SUPABASE_URL, loadOrCreateDevSecret } from './auth/dev-keys.ts';
import { createTokenVerifier } from './auth/verify-token.ts';
import type { AppDeps } from './context.ts';
import type { Config } from './env.ts';
import { startLive } from './live/start.ts';
import type { Logger } from './logger.ts';
import { createHttpServer, type HttpServer } from './server.ts';
import { InFlightLimit } from './services/in-flight.ts';
import { postgresBudgetStore, RequestBudgets } from './services/request-budget.ts';

export interface App {
  /** The HTTP server (Fastify), not listening yet. */
  http: HttpServer;
  database: DatabaseHandle;
  deps: AppDeps;
  /** The issuer tokens must carry, and in development mode the secret that signs them. */
  auth: { issuer: string; devSecret: string | undefined };
  /**
   * Graceful shutdown, in order: live streams end with a reconnect hint (an open stream would keep the
   * HTTP server from closing), requests in flight finish, their last pokes leave, then the budgets and
   * the database close.
   */
  close(): Promise<void>;
}

/** LIVE_UPDATES=0: no pokes are sent (and no stream is served). */
const silentNotifier: FanChangeNotifier = {
  announce: () => Promise.resolve(),
  resync: () => Promise.resolve(),
  close: () => Promise.resolve(),
};

/** Where the embedded database lives under DATA_DIR. */
export const pgliteDir = (dataDir: string) => join(dataDir, 'pglite');

export async function issuerAndSecret(
  config: Config,
): Promise<{ issuer: string; devSecret: string | undefined }> {
  if (config.auth.kind === 'development') {
    return { issuer: `${DEV_SUPABASE_URL}/auth/v1`, devSecret: await loadOrCreateDevSecret(config.DATA_DIR) };
  }
  return { issuer: `${config.auth.supabaseUrl}/auth/v1`, devSecret: undefined };
}

/** Builds the whole process: database (migrated), token verifier, live updates, HTTP server. */
export async function createApp(config: Config, logger: Logger): Promise<App> {
  const auth = await issuerAndSecret(config);
  const verifyToken = createTokenVerifier(
    config.auth.kind === 'development'
      ? { issuer: auth.issuer, jwtSecret: auth.devSecret! }
      : {
          issuer: auth.issuer,
          ...(config.auth.jwtSecret ? { jwtSecret: config.auth.jwtSecret } : {}),
          ...(config.auth.jwksUrl ? { jwksUrl: config.auth.jwksUrl } : {}),
        },
  );
  const database = await openDatabase({
    url: config.DATABASE_URL,
    dataDir: pgliteDir(config.DATA_DIR),
    maxConnections: config.DB_POOL_MAX,
    countQueries: config.DB_QUERY_COUNT,
    prepare: config.DB_PREPARE,
  });
  const budget =
    config.RATE_LIMIT_PER_MINUTE > 0
      ? { capacity: config.RATE_LIMIT_BURST, refillPerSecond: config.RATE_LIMIT_PER_MINUTE / 60 }
      : null;
  const pokes = config.LIVE_UPDATES
    ? createFanChangeNotifier(database, {
        onError: (error) => logger.warn({ err: error }, 'live: pokes not sent; the next ones carry a resync'),
      })
    : silentNotifier;
  const deps: AppDeps = {
    db: database.db,
    pokes,
    verifyToken,
    allowedOrigins: config.ALLOWED_ORIGINS,
    throttle: { minIntervalMs: config.SYNC_MIN_INTERVAL_MS, forceFloorMs: config.SYNC_FORCE_FLOOR_MS },
    tombstoneTtlMs: config.SYNC_TOMBSTONE_TTL_MS,
    budgets: new RequestBudgets(budget, {
      // PGlite belongs to one process: its budget needs no sharing.
      ...(budget && database.kind === 'postgres' ? { store: postgresBudgetStore(database.db, budget) } : {}),
      log: logger,
    }),
    inFlight: new InFlightLimit(config.RATE_LIMIT_CONCURRENT),
    now: () => new Date(),
    logger,
    publicUrl: config.PUBLIC_URL,
  };
  // One listening connection for the whole process, outside the pool, whatever the number of streams.
  const live = config.LIVE_UPDATES ? await startLive({ database, logger }) : undefined;
  deps.live = live?.hub;
  // Pokes a process queued but never sent (it was killed between a commit and its poke) are covered
  // here: a process that starts tells every stream, on every process, to pull what it shows.
  await pokes.resync('an API process started');
  const http = createHttpServer({
    deps,
    ping: () => database.ping(),
    countQueries: config.DB_QUERY_COUNT,
    publicUrl: config.PUBLIC_URL,
  });
  const close = async () => {
    await live?.close();
    await http.close();
    await pokes.close();
    await deps.budgets.close();
    await database.close();
  };
  return { http, database, deps, auth, close };
}
