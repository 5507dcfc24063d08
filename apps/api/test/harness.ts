import { randomBytes, randomUUID } from 'node:crypto';
import type { Role } from '@fannotes/contract';
import { accounts, createFanChangeNotifier, fans, memberships } from '@fannotes/db';
import { createTestDatabase, type TestDatabase } from '@fannotes/db/testing';
import { sql } from 'drizzle-orm';
import { defaultThrottlePolicy, type BudgetPolicy } from '@fannotes/sync-core';
import { pino } from 'pino';
import { mintToken } from '../src/auth/dev-keys.ts';
import { createTokenVerifier, type AuthConfig } from '../src/auth/verify-token.ts';
import { createContext, type AppDeps } from '../src/context.ts';
import { createCaller } from '../src/root.ts';
import { createHttpServer } from '../src/server.ts';
import { InFlightLimit } from '../src/services/in-flight.ts';
import { RequestBudgets } from '../src/services/request-budget.ts';

export const ISSUER = 'http://127.0.0.1:54321/auth/v1';
export const START = new Date('2026-03-01T12:00:00.000Z');

export interface TestApp {
  database: TestDatabase;
  deps: AppDeps;
  secret: string;
  clock: { now: () => Date; advance: (ms: number) => void; set: (date: Date) => void };
  token: (userId: string) => Promise<string>;
  /** A tRPC caller authenticated as the user, through the same auth middleware as HTTP. */
  caller: (userId: string) => Promise<ReturnType<typeof createCaller>>;
  /** Starts the real HTTP server on a free loopback port. */
  listen: () => Promise<string>;
  close: () => Promise<void>;
}

/**
 * A real app on a migrated test database (PGlite, or DATABASE_URL's server), a fixed clock and a real secret.
 * `auth` adds to (or overrides) the verifier's settings, e.g. a `jwksUrl` next to the HS256 secret.
 */
export async function createTestApp(
  options: {
    allowedOrigins?: string[];
    auth?: Partial<AuthConfig>;
    budget?: BudgetPolicy;
    /** Requests one user may run at once (default: the production default, 4). */
    concurrent?: number;
    publicUrl?: string;
    /** The pool's size on PostgreSQL (DB_POOL_MAX); 1 puts every request on the same connection. */
    maxConnections?: number;
    /** How often an idle REST event stream carries a `: ping` (default 25 s). */
    eventsPingMs?: number;
  } = {},
): Promise<TestApp> {
  const database = await createTestDatabase({ maxConnections: options.maxConnections });
  const secret = randomBytes(32).toString('base64url');
  let now = new Date(START);
  const clock = {
    now: () => new Date(now),
    advance: (ms: number) => {
      now = new Date(now.getTime() + ms);
    },
    set: (date: Date) => {
      now = new Date(date);
    },
  };
  const deps: AppDeps = {
    db: database.db,
    pokes: createFanChangeNotifier(database),
    verifyToken: createTokenVerifier({ issuer: ISSUER, jwtSecret: secret, now: clock.now, ...options.auth }),
    allowedOrigins: options.allowedOrigins ?? ['https://app.example.com'],
    throttle: defaultThrottlePolicy,
    tombstoneTtlMs: 30 * 24 * 3600 * 1000,
    budgets: new RequestBudgets(options.budget ?? null),
    inFlight: new InFlightLimit(options.concurrent ?? 4),
    now: clock.now,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    publicUrl: options.publicUrl,
  };
  const token = (userId: string) =>
    mintToken({ secret, issuer: ISSUER, userId, now: Math.floor(clock.now().getTime() / 1000) });
  let http: ReturnType<typeof createHttpServer> | undefined;
  return {
    database,
    deps,
    secret,
    clock,
    token,
    caller: async (userId) =>
      createCaller(createContext(deps, randomUUID(), { authorization: `Bearer ${await token(userId)}` })),
    listen: async () => {
      http = createHttpServer({
        deps,
        ping: () => database.ping(),
        publicUrl: options.publicUrl,
        eventsPingMs: options.eventsPingMs,
      });
      return http.listen({ port: 0, host: '127.0.0.1' });
    },
    close: async () => {
      if (http) await http.close();
      await database.close();
    },
  };
}

/** An account with one member per role, and a fan. Rows written directly: the fixture, not the subject. */
export async function seedAccount(app: TestApp, fanId = '12345') {
  const users = {
    owner: randomUUID(),
    manager: randomUUID(),
    chatter: randomUUID(),
    viewer: randomUUID(),
  } satisfies Record<Role, string>;
  const now = app.clock.now();
  const onlyFansUserId = String(100_000 + Math.floor(Math.random() * 1e9));
  const [account] = await app.database.db
    .insert(accounts)
    .values({ onlyFansUserId, username: `creator_${onlyFansUserId}`, createdBy: users.owner, createdAt: now })
    .returning();
  await app.database.db.insert(memberships).values(
    (Object.entries(users) as [Role, string][]).map(([role, userId]) => ({
      accountId: account!.id,
      userId,
      role,
      createdAt: now,
      updatedAt: now,
    })),
  );
  const [fan] = await app.database.db
    .insert(fans)
    .values({ accountId: account!.id, fanId, createdAt: now, updatedAt: now })
    .returning();
  return { account: account!, fan: fan!, users };
}

/** Row counts of every table: "nothing was written" is these being equal before and after. */
export async function rowCounts(app: TestApp): Promise<Record<string, number>> {
  const result = await app.database.db.execute<{ table: string; count: number }>(
    sql`select 'accounts' as table, count(*)::int as count from accounts
      union all select 'memberships', count(*)::int from memberships
      union all select 'fans', count(*)::int from fans
      union all select 'notes', count(*)::int from notes
      union all select 'sync_clients', count(*)::int from sync_clients
      union all select 'idempotency_keys', count(*)::int from idempotency_keys
      union all select 'invites', count(*)::int from invites
      union all select 'invite_uses', coalesce(sum(uses), 0)::int from invites
      union all select 'invites_revoked', count(revoked_at)::int from invites
      union all select 'profiles', count(*)::int from profiles
      union all select 'fan_versions', coalesce(sum(version), 0)::int from fans`,
  );
  const rows = (
    Array.isArray(result) ? result : (result as { rows: { table: string; count: number }[] }).rows
  ) as {
    table: string;
    count: number;
  }[];
  return Object.fromEntries(rows.map((row) => [row.table, Number(row.count)]));
}
