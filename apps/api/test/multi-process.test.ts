import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type {
  Account,
  ErrorEnvelope,
  Fan,
  Mutation,
  Note,
  SuccessEnvelope,
  SyncNotesData,
  SyncNotesInput,
} from '@fannotes/contract';
import { fans, migrationsFolder, notes, syncClients } from '@fannotes/db';
import { createTestDatabase, type TestDatabase } from '@fannotes/db/testing';
import { eq, sql, type SQL } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { holdLock, leasesHeld } from '../hardening/lib/database.ts';
import { leaseKey } from '../src/services/lease.ts';
import { mintToken } from '../src/auth/dev-keys.ts';
import { openEventStream } from './event-stream.ts';
import { spawnApi, waitFor, type ApiProcess } from './spawn-api.ts';

// DESIGN.md, Scale: "API processes are stateless; every lease, version and throttle stamp lives in
// PostgreSQL, so N processes behind a load balancer behave as one." Two real API processes on one real
// PostgreSQL database (PGlite is one connection: its locks never contend, so this cannot run there).

const SUPABASE_URL = 'http://127.0.0.1:54321';
const FAN = '12345';
/** A second fan, written only by the mutations test, so its note count is exactly that test's. */
const MUTATIONS_FAN = '67890';

interface Reply<T> {
  status: number;
  retryAfter: string | null;
  body: SuccessEnvelope<T> | ErrorEnvelope;
}

describe.skipIf(!process.env.DATABASE_URL)('two API processes on one PostgreSQL database', () => {
  let database: TestDatabase;
  let apis: ApiProcess[] = [];
  let token: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    // createTestDatabase migrates; empty the database again so that the two processes below are the
    // ones that migrate it, as after a first deploy. drizzle's migrations table is kept, emptied, so
    // that it can be held locked: both processes then reach the migration step before either may go
    // on, which makes their race certain instead of a matter of start-up timing.
    await database.db.execute(sql`drop schema public cascade`);
    await database.db.execute(sql`create schema public`);
    await database.db.execute(sql`delete from drizzle.__drizzle_migrations`);

    const secret = randomBytes(32).toString('base64url');
    const env = {
      NODE_ENV: 'production',
      DATABASE_URL: database.url!,
      SUPABASE_URL,
      SUPABASE_JWT_SECRET: secret,
      LOG_LEVEL: 'info',
      // Every call is a full sync (no interval, no force floor): the lease is the only thing in the way.
      SYNC_MIN_INTERVAL_MS: '0',
      SYNC_FORCE_FLOOR_MS: '0',
      DB_POOL_MAX: '5',
      // 20 syncs at once through one user on purpose: the lease is under test, not the per-user
      // limit of 4 at once (test/in-flight.test.ts shows that) nor the request budget, which this
      // file's requests through one user exceed (test/budget-processes.test.ts shows it).
      RATE_LIMIT_CONCURRENT: '0',
      RATE_LIMIT_PER_MINUTE: '0',
    };
    const spawning = [spawnApi('A', env), spawnApi('B', env)];
    try {
      await database.db.transaction(async (tx) => {
        await tx.execute(sql`lock table drizzle.__drizzle_migrations in access exclusive mode`);
        await Promise.race([
          waitFor(
            'both processes to wait at the migration step',
            async () => (await lockWaiters()) >= 2,
            45_000,
          ),
          Promise.all(spawning).then(() => {
            throw new Error('the processes started without reaching the migration step');
          }),
        ]);
      });
    } finally {
      // Whatever happened, every process that did start is known to afterAll, which stops it.
      const results = await Promise.allSettled(spawning);
      apis = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    }
    await Promise.all(spawning);
    for (const api of apis) {
      await waitFor(`${api.name} /healthz`, async () => (await fetch(`${api.url}/healthz`)).ok);
    }

    const owner = randomUUID();
    token = await mintToken({ secret, issuer: `${SUPABASE_URL}/auth/v1`, userId: owner });
    const account = dataOf(
      await post<Account>(apis[0]!, '/api/v2/accounts', { onlyFansUserId: '424242', username: 'creator' }),
    );
    expect(account.role).toBe('owner');
    for (const [api, fanId] of [
      [apis[1]!, FAN],
      [apis[0]!, MUTATIONS_FAN],
    ] as const) {
      expect(dataOf(await post<Fan>(api, '/api/v2/fans', { accountId: account.id, fanId }))).toMatchObject({
        fanId,
      });
    }
  }, 90_000);

  afterAll(async () => {
    const exits = await Promise.all(apis.map((api) => api.stop(5_000)));
    await database?.close();
    for (const exit of exits) expect(exit.code !== null || exit.signal !== null).toBe(true);
  }, 60_000);

  async function post<T>(api: ApiProcess, path: string, body: unknown): Promise<Reply<T>> {
    const response = await fetch(`${api.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return {
      status: response.status,
      retryAfter: response.headers.get('retry-after'),
      body: (await response.json()) as SuccessEnvelope<T> | ErrorEnvelope,
    };
  }

  const sync = (api: ApiProcess, input: SyncNotesInput) =>
    post<SyncNotesData>(api, '/api/v2/sync-notes', input);

  function dataOf<T>(reply: Reply<T>): T {
    if (reply.status !== 200 || reply.body.status !== 'success') {
      throw new Error(`expected 200 success, got ${reply.status}: ${JSON.stringify(reply.body)}`);
    }
    return reply.body.data;
  }

  /** Error and fatal log lines of both processes: a 5xx or a crash of either one shows up here. */
  const errorLogs = () =>
    apis.flatMap((api) =>
      api
        .logs()
        .filter((entry) => Number(entry.level) >= 50)
        .map((entry) => ({ api: api.name, ...entry })),
    );

  /** Other sessions of this database waiting for a lock (advisory or on a table). */
  async function lockWaiters(): Promise<number> {
    return count(
      sql`select count(*)::int as count from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid() and wait_event_type = 'Lock'`,
    );
  }

  /** A `select count(*)::int as count ...` (postgres.js answers with an array of rows). */
  async function count(query: SQL): Promise<number> {
    const rows: unknown = await database.db.execute<{ count: number }>(query);
    return Number((rows as { count: number }[])[0]!.count);
  }

  async function fanRowId(fanId: string): Promise<string> {
    const [row] = await database.db.select({ id: fans.id }).from(fans).where(eq(fans.fanId, fanId));
    return row!.id;
  }

  test('both processes started at once on a fresh database migrate it exactly once, without error', async () => {
    const journal = JSON.parse(await readFile(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as {
      entries: { tag: string }[];
    };
    expect(await count(sql`select count(*)::int as count from drizzle.__drizzle_migrations`)).toBe(
      journal.entries.length,
    );
    expect(apis.map((api) => api.logs().filter((entry) => entry.msg === 'listening').length)).toEqual([1, 1]);
    expect(errorLogs()).toEqual([]);
  });

  test('a note written through process A is in process B’s sync', async () => {
    const [a, b] = apis as [ApiProcess, ApiProcess];
    const written = dataOf(
      await post<Note>(a, '/api/v2/update-note', { fanId: FAN, content: 'Written through A.' }),
    );
    const synced = dataOf(await sync(b, { fanId: FAN }));
    expect(synced.synchronized).toBe(true);
    expect(synced.notes).toContainEqual(
      expect.objectContaining({ id: written.id, content: 'Written through A.', version: written.version }),
    );
    // And back: B's write is in A's next sync.
    const back = dataOf(
      await post<Note>(b, '/api/v2/update-note', { fanId: FAN, content: 'Written through B.' }),
    );
    expect(dataOf(await sync(a, { fanId: FAN })).notes.map((note) => note.id)).toEqual(
      expect.arrayContaining([written.id, back.id]),
    );
  });

  test('a lease held by a transaction elsewhere makes both processes answer 409 sync_in_progress; once it ends, the next sync proceeds', async () => {
    const holder = await holdLock(
      database.url!,
      sql`select pg_advisory_xact_lock(${leaseKey(sql`${await fanRowId(FAN)}`)})`,
    );
    try {
      for (const api of apis) {
        const reply = await sync(api, { fanId: FAN, force: true });
        expect(reply.status, api.name).toBe(409);
        expect(Number(reply.retryAfter)).toBeGreaterThanOrEqual(1);
        expect(reply.body).toEqual({
          status: 'error',
          error: {
            code: 'sync_in_progress',
            message: expect.any(String),
            details: { requestId: expect.any(String) },
          },
        });
      }
    } finally {
      await holder.release();
    }
    const reply = await sync(apis[1]!, { fanId: FAN, force: true });
    expect(dataOf(reply)).toMatchObject({ synchronized: true, throttled: false });
    expect(await leasesHeld(database.db)).toBe(0);
  });

  test('20 simultaneous full syncs of one fan over both processes: each is 200 or 409, never 5xx; no lease is left behind', async () => {
    const forced = (i: number) => i % 4 < 2;
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => sync(apis[i % 2]!, { fanId: FAN, force: forced(i) })),
    );
    const statuses = replies.map((reply) => reply.status);
    expect(statuses.filter((status) => status !== 200 && status !== 409)).toEqual([]);
    expect(statuses).toContain(200);
    for (const [i, reply] of replies.entries()) {
      // A plain read that meets another's lease is answered from the stored notes (issue 14.3): only
      // forced syncs get 409.
      if (reply.status === 200) expect(forced(i) ? dataOf(reply).synchronized : true).toBe(true);
      else {
        expect(forced(i)).toBe(true);
        expect(reply.body).toMatchObject({ status: 'error', error: { code: 'sync_in_progress' } });
        expect(Number(reply.retryAfter)).toBeGreaterThanOrEqual(1);
      }
    }
    expect(await leasesHeld(database.db)).toBe(0);
    expect(errorLogs()).toEqual([]);
  });

  test('one client’s mutations sent concurrently to both processes are each applied exactly once', async () => {
    const N = 24;
    const clientId = randomUUID();
    const mutations: Mutation[] = Array.from({ length: N }, (_, i) => ({
      id: i + 1,
      op: 'upsert',
      noteId: `note_${randomUUID()}`,
      baseVersion: 0,
      note: { content: `Mutation ${i + 1}.` },
    }));
    // Eight requests, each carrying four ids and overlapping the next by one (1-4, 4-7, ... 22-24), as a
    // client resending what is not yet acknowledged would; sent at once, alternately to A and B. A
    // request that finds a gap (its first id is not next) is answered without applying anything.
    const batches = Array.from({ length: 8 }, (_, r) => mutations.slice(3 * r, Math.min(3 * r + 4, N)));
    const answers: SyncNotesData[] = [];

    const deliver = async (batch: Mutation[], r: number) => {
      const lastId = batch.at(-1)!.id;
      const deadline = Date.now() + 20_000;
      for (let attempt = 0; ; attempt++) {
        const reply = await sync(apis[(r + attempt) % 2]!, {
          fanId: MUTATIONS_FAN,
          clientId,
          mutations: batch,
        });
        if (reply.status === 200) {
          const data = dataOf(reply);
          answers.push(data);
          if (data.lastMutationId !== null && data.lastMutationId >= lastId) return;
        } else {
          expect(reply.body).toMatchObject({ error: { code: 'sync_in_progress' } });
        }
        if (Date.now() > deadline) throw new Error(`batch ending at ${lastId} was never acknowledged`);
        // The client's back-off: Retry-After, capped small so that the test stays quick.
        await delay(Math.min(Number(reply.retryAfter ?? 0) * 1000, 50) || 10);
      }
    };
    await Promise.all(batches.map(deliver));

    const applied = answers.flatMap((data) => data.results.filter((result) => result.status === 'applied'));
    expect(applied.map((result) => result.id).sort((x, y) => x - y)).toEqual(mutations.map((m) => m.id));
    expect(
      answers
        .flatMap((data) => data.results)
        .filter((result) => result.status !== 'applied' && result.status !== 'duplicate'),
    ).toEqual([]);

    const rows = await database.db
      .select({ id: notes.id, content: notes.content })
      .from(notes)
      .where(eq(notes.fanRowId, await fanRowId(MUTATIONS_FAN)));
    expect(rows).toHaveLength(N);
    expect(rows.map((row) => row.id).sort()).toEqual(mutations.map((m) => m.noteId).sort());
    const [client] = await database.db.select().from(syncClients).where(eq(syncClients.clientId, clientId));
    expect(client!.lastMutationId).toBe(N);
    expect(await leasesHeld(database.db)).toBe(0);
    expect(errorLogs()).toEqual([]);
  }, 45_000);

  test("a note written through process B reaches a stream (GET /api/v2/events) held on process A, as a poke with the fan's new version", async () => {
    // Filtered to the fan: the previous test's last pokes (its fan's coalescing window) may still come.
    const stream = await openEventStream(apis[0]!.url, token, `?fanId=${FAN}`);
    try {
      for (let round = 0; round < 5; round++) {
        const written = dataOf(
          await post<Note>(apis[1]!, '/api/v2/update-note', { fanId: FAN, content: `live ${round}` }),
        );
        expect(await stream.next(5_000)).toMatchObject({
          type: 'message',
          data: { fanId: FAN, version: written.version },
        });
      }
    } finally {
      stream.close();
    }
    expect(errorLogs()).toEqual([]);
  }, 30_000);

  test('SIGTERM ends open event streams with `event: end` (shutdown, a reconnect hint) and stops each process with exit code 0 within a few seconds', async () => {
    const streams = await Promise.all(apis.map((api) => openEventStream(api.url, token)));
    const exits = await Promise.all(apis.map((api) => api.stop(5_000)));
    for (const stream of streams) {
      const end = await stream.next(1_000);
      expect(end).toMatchObject({ type: 'end', data: { reason: 'shutdown' } });
      expect((end.data as { retryAfterMs: number }).retryAfterMs).toBeGreaterThanOrEqual(1_000);
    }
    for (const exit of exits) {
      expect(exit).toMatchObject({ code: 0, signal: null });
      expect(exit.ms).toBeLessThan(5_000);
    }
    for (const api of apis) expect(api.logs().map((entry) => entry.msg)).toContain('stopped');
  }, 20_000);
});
