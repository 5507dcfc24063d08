import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { SyncNotesData } from '@fannotes/contract';
import { openPostgres, type Database } from '@fannotes/db';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  apiBackends,
  createHardeningDatabase,
  holdLock,
  leasesHeld,
  one,
  rows,
  seedAccount,
  terminate,
  type HardeningDatabase,
  type SeededAccount,
} from './lib/database.ts';
import { callEndpoint, endpoints } from './lib/endpoints.ts';
import { latencySummary, recordFigures, Tally } from './lib/figures.ts';
import { dataOf, outcomeOf, statuses, type Reply } from './lib/http.ts';
import { alive, errorLogs, startApi, waitFor, type ApiProcess, LIMITS_OFF } from './lib/processes.ts';
import { isNetworkError, SyncClient, type Exchange } from './lib/sync-client.ts';
import { ThrowawayPostgres } from './lib/throwaway-postgres.ts';
import { tokenFor } from './lib/tokens.ts';

// Faults: PostgreSQL connections terminated mid-request and at random under load, the database stopped
// (fast and immediate) and restarted under load, statement and lock timeouts, an API process killed
// with SIGKILL mid-sync. Each fault is answered 503 service_unavailable with Retry-After within a
// stated deadline (never 500, never a hang); the process stays up and recovers by itself; nothing is
// half-written: every client's acknowledged changes are there exactly once after its retries.
// test/protocol-processes.test.ts kills one sync at random points; these are the commit-boundary kills,
// kills under many concurrent clients, and the database-side faults.

/** Deadlines the API promises (packages/db/src/open.ts): lock wait 5 s, statement 10 s, connect 5 s + 1 s. */
const LOCK_TIMEOUT_MS = 5_000;
const STATEMENT_TIMEOUT_MS = 10_000;
const OUTAGE_DEADLINE_MS = 6_500;

let db: HardeningDatabase;
const processes: ApiProcess[] = [];
const faults = new Tally();
const figures: Record<string, unknown> = {};
let rowsLost = 0;

const sync = endpoints.find((endpoint) => endpoint.procedure === 'notes.sync')!;
const updateNote = endpoints.find((endpoint) => endpoint.procedure === 'notes.update')!;

/** A process for a fault: several clients through one user's token under load (LIMITS_OFF). */
async function api(name: string, databaseUrl: string, env: Record<string, string> = {}): Promise<ApiProcess> {
  const started = await startApi(name, databaseUrl, { ...LIMITS_OFF, ...env });
  processes.push(started);
  return started;
}

beforeAll(async () => {
  db = await createHardeningDatabase();
}, 60_000);

afterAll(async () => {
  await Promise.all(processes.map((process) => process.stop(2_000)));
  await db?.close();
  recordFigures('faults', {
    ...figures,
    injected: { ...faults.counts, total: faults.total },
    rowsLost,
    requests: statuses.total,
    byStatus: statuses.counts,
    internalErrors: statuses.get(500),
  });
}, 60_000);

/** Expects a 503 service_unavailable with Retry-After, in the envelope. */
function expectUnavailable(reply: Reply): void {
  expect(outcomeOf(reply), reply.text.slice(0, 200)).toMatchObject({
    status: 503,
    code: 'service_unavailable',
  });
  expect(Number(reply.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
}

const createMutations = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    id: from + i,
    op: 'upsert' as const,
    noteId: `note_${randomUUID()}`,
    baseVersion: 0,
    note: { content: `Mutation ${from + i}.` },
  }));

async function clientState(database: Database, fanRowId: string, clientId: string) {
  const notes = await rows<{ id: string }>(
    database,
    sql`select id from notes where fan_row_id = ${fanRowId} order by id`,
  );
  const client = await rows<{ last_mutation_id: number }>(
    database,
    sql`select last_mutation_id from sync_clients where client_id = ${clientId}`,
  );
  const fan = await one<{ version: number }>(database, sql`select version from fans where id = ${fanRowId}`);
  return {
    notes: notes.map((row) => row.id),
    lastMutationId: Number(client[0]?.last_mutation_id ?? 0),
    version: Number(fan.version),
  };
}

/** Syncs `input` until it is answered 200, honouring Retry-After (capped), on any of `bases`. */
async function syncUntilApplied(
  bases: string[],
  token: string,
  input: unknown,
  deadlineMs = 15_000,
): Promise<{ data: SyncNotesData; answers: Tally }> {
  const answers = new Tally();
  const deadline = Date.now() + deadlineMs;
  for (let attempt = 0; ; attempt++) {
    let reply: Reply;
    try {
      reply = await callEndpoint(bases[attempt % bases.length]!, sync, attempt % 2 ? 'trpc' : 'rest', input, {
        token,
      });
    } catch (error) {
      if (!isNetworkError(error) || Date.now() > deadline) throw error;
      answers.add('no answer');
      continue;
    }
    const outcome = outcomeOf(reply);
    answers.add(outcome.status);
    if (outcome.code === 'success') return { data: dataOf<SyncNotesData>(reply), answers };
    expect(['sync_in_progress', 'service_unavailable']).toContain(outcome.code);
    if (Date.now() > deadline)
      throw new Error(`not applied in ${deadlineMs} ms: ${JSON.stringify(answers.counts)}`);
    await delay(Math.min(Number(reply.headers.get('retry-after')) * 1000, 200));
  }
}

// ---------------------------------------------------------------------------------------------------

describe('connections terminated (pg_terminate_backend)', () => {
  let target: ApiProcess;
  let account: SeededAccount;
  let token: string;

  beforeAll(async () => {
    target = await api('terminated', db.url);
    account = await seedAccount(db.admin, { fanIds: ['12345', '23456'] });
    token = await tokenFor(account.users.chatter);
  }, 60_000);

  test('a sync whose connection is terminated inside its transaction is 503 at once, writes nothing, and its retry applies exactly once', async () => {
    const fanRowId = account.fans['12345']!;
    const clientId = randomUUID();
    const first = await syncUntilApplied([target.url], token, {
      fanId: '12345',
      clientId,
      mutations: createMutations(1, 1),
    });
    expect(first.data.lastMutationId).toBe(1);
    const before = await clientState(db.admin, fanRowId, clientId);

    // Someone holds this client's row: the sync takes its lease and locks the fan row, then waits for it.
    const lock = await holdLock(
      db.url,
      sql`select * from sync_clients where client_id = ${clientId} for update`,
    );
    const input = { fanId: '12345', clientId, mutations: createMutations(2, 3) };
    const pending = callEndpoint(target.url, sync, 'rest', input, { token });
    const waiting = await waitFor(
      'the sync to wait inside its transaction',
      async () => (await apiBackends(db.admin)).find((backend) => backend.waiting),
      5_000,
    );
    const terminatedAt = Date.now();
    expect(await terminate(db.admin, [waiting.pid])).toBe(1);
    faults.add('pg_terminate_backend');
    const reply = await pending;
    const answeredMs = Date.now() - terminatedAt;
    await lock.release();
    expectUnavailable(reply);
    expect(answeredMs).toBeLessThan(1_000);
    expect(await clientState(db.admin, fanRowId, clientId), 'half-written').toEqual(before);

    const retried = await syncUntilApplied([target.url], token, input);
    expect(retried.data.results.map((result) => result.status)).toEqual(['applied', 'applied', 'applied']);
    const replayed = await syncUntilApplied([target.url], token, input);
    expect(replayed.data.results.map((result) => result.status)).toEqual([
      'duplicate',
      'duplicate',
      'duplicate',
    ]);
    const after = await clientState(db.admin, fanRowId, clientId);
    expect(after.notes).toHaveLength(4);
    expect(after.lastMutationId).toBe(4);
    figures.terminatedInTransaction = { answeredAfterMs: answeredMs, retryAnswers: retried.answers.counts };
  });

  test('connections terminated at random under load: 503 or an answer, never 500; every client’s changes land exactly once', async () => {
    const clients = await Promise.all(
      Array.from(
        { length: 6 },
        async (_, i) =>
          new SyncClient(
            i % 2 ? '12345' : '23456',
            await tokenFor(account.users[i % 3 === 0 ? 'owner' : i % 3 === 1 ? 'manager' : 'chatter']),
          ),
      ),
    );
    let running = true;
    let terminated = 0;
    const killer = (async () => {
      while (running) {
        const backends = await apiBackends(db.admin);
        const victims = backends.filter(() => Math.random() < 0.5).map((backend) => backend.pid);
        terminated += await terminate(db.admin, victims);
        await delay(40 + Math.random() * 120);
      }
    })();
    const workers = clients.map(async (client) => {
      while (running) {
        client.change();
        const exchange = await client.sync(target.url);
        if (exchange.code !== 'success') await delay(Math.min((exchange.retryAfter ?? 1) * 1000, 100));
      }
    });
    await delay(8_000);
    running = false;
    await killer;
    await Promise.all(workers);
    faults.add('pg_terminate_backend', terminated);

    // Recovery by itself: every client's outbox drains without any restart.
    const recoveryStarted = Date.now();
    await Promise.all(clients.map((client) => client.drain(() => [target.url], 20_000)));
    const recoveryMs = Date.now() - recoveryStarted;

    const exchanges = clients.flatMap((client) => client.exchanges);
    const answers = new Tally();
    for (const exchange of exchanges) answers.add(exchange.status);
    const problems = (await Promise.all(clients.map((client) => client.differences(db.admin)))).flat();
    rowsLost += problems.length;
    expect(problems).toEqual([]);
    expect(Object.keys(answers.counts).filter((status) => !['200', '409', '503'].includes(status))).toEqual(
      [],
    );
    expect(answers.get(503)).toBeGreaterThan(0);
    for (const exchange of exchanges)
      if (exchange.status === 503) expect(exchange.retryAfter).toBeGreaterThanOrEqual(1);
    expect(Math.max(...exchanges.map((exchange) => exchange.ms))).toBeLessThan(OUTAGE_DEADLINE_MS);
    expect(alive(target)).toBe(true);
    figures.terminatedUnderLoad = {
      backendsTerminated: terminated,
      requests: exchanges.length,
      answers: answers.counts,
      latencyMs: latencySummary(exchanges.map((exchange) => exchange.ms)),
      drainedAfterMs: recoveryMs,
      mutations: clients.reduce((sum, client) => sum + client.model.size, 0),
      rowsLost: problems.length,
    };
  }, 90_000);
});

describe('statement and lock timeouts', () => {
  let target: ApiProcess;
  let account: SeededAccount;
  let token: string;

  beforeAll(async () => {
    target = await api('timeouts', db.url);
    account = await seedAccount(db.admin, { fanIds: ['12345'] });
    token = await tokenFor(account.users.chatter);
  }, 60_000);

  test('a write waiting on a row lock is 503 with Retry-After at the 5 s lock timeout, writes nothing, and the process serves normally after', async () => {
    const fanRowId = account.fans['12345']!;
    const clientId = randomUUID();
    const before = await clientState(db.admin, fanRowId, clientId);
    const lock = await holdLock(db.url, sql`select * from fans where id = ${fanRowId} for update`);
    const alone = await callEndpoint(
      target.url,
      sync,
      'rest',
      { fanId: '12345', clientId, mutations: createMutations(1, 2) },
      { token },
    );
    faults.add('lock timeout');
    expectUnavailable(alone);
    expect(alone.ms).toBeGreaterThanOrEqual(LOCK_TIMEOUT_MS - 100);
    expect(alone.ms).toBeLessThan(LOCK_TIMEOUT_MS + 1_000);

    // Two waiters on one row: PostgreSQL's lock_timeout counts per lock, and the second waiter first
    // waits for the tuple lock behind the first, then for the holder: up to the 10 s statement cap.
    const [queuedSync, queuedNote] = await Promise.all([
      callEndpoint(
        target.url,
        sync,
        'trpc',
        { fanId: '12345', clientId, mutations: createMutations(1, 2) },
        { token },
      ),
      callEndpoint(
        target.url,
        updateNote,
        'rest',
        { fanId: '12345', content: 'Waiting for the lock.' },
        { token },
      ),
    ]);
    faults.add('lock timeout', 2);
    await lock.release();
    for (const reply of [queuedSync, queuedNote]) {
      expectUnavailable(reply);
      expect(reply.ms).toBeGreaterThanOrEqual(LOCK_TIMEOUT_MS - 100);
      expect(reply.ms).toBeLessThan(STATEMENT_TIMEOUT_MS + 1_500);
    }
    expect(await clientState(db.admin, fanRowId, clientId)).toEqual(before);
    expect(await leasesHeld(db.admin)).toBe(0);

    const after = await callEndpoint(
      target.url,
      sync,
      'rest',
      { fanId: '12345', clientId, mutations: createMutations(1, 2) },
      { token },
    );
    expect(outcomeOf(after).code).toBe('success');
    expect(after.ms).toBeLessThan(1_000);
    figures.lockTimeout = {
      aloneAnsweredAfterMs: Math.round(alone.ms),
      twoWaitersAnsweredAfterMs: [Math.round(queuedSync.ms), Math.round(queuedNote.ms)],
      nextRequestMs: Math.round(after.ms),
    };
  }, 40_000);

  test('a statement running past the 10 s statement timeout is 503 with Retry-After, writes nothing, and the process serves normally after', async () => {
    // A slow disk, or a plan gone wrong, for one statement: a trigger that sleeps on one note's text.
    await db.admin.execute(
      sql.raw(`
      create or replace function hardening_slow() returns trigger language plpgsql as $$
      begin if new.content = 'SLOW STATEMENT' then perform pg_sleep(30); end if; return new; end $$;
      create trigger hardening_slow before insert or update on notes for each row execute function hardening_slow();`),
    );
    try {
      const before = await one<{ count: number }>(db.admin, sql`select count(*)::int as count from notes`);
      const reply = await callEndpoint(
        target.url,
        updateNote,
        'rest',
        { fanId: '12345', content: 'SLOW STATEMENT' },
        { token },
      );
      faults.add('statement timeout');
      expectUnavailable(reply);
      expect(reply.ms).toBeGreaterThanOrEqual(STATEMENT_TIMEOUT_MS - 100);
      expect(reply.ms).toBeLessThan(STATEMENT_TIMEOUT_MS + 1_500);
      expect(await one<{ count: number }>(db.admin, sql`select count(*)::int as count from notes`)).toEqual(
        before,
      );
      const after = await callEndpoint(
        target.url,
        updateNote,
        'trpc',
        { fanId: '12345', content: 'Fast again.' },
        { token },
      );
      expect(outcomeOf(after).code).toBe('success');
      expect(after.ms).toBeLessThan(1_000);
      figures.statementTimeout = {
        answeredAfterMs: Math.round(reply.ms),
        nextRequestMs: Math.round(after.ms),
      };
    } finally {
      await db.admin.execute(
        sql.raw('drop trigger hardening_slow on notes; drop function hardening_slow();'),
      );
    }
  }, 30_000);
});

describe('the database stopped and restarted under load (a throwaway cluster)', () => {
  let cluster: ThrowawayPostgres;
  let admin: Awaited<ReturnType<typeof openPostgres>> | undefined;
  let target: ApiProcess;

  beforeAll(async () => {
    cluster = await ThrowawayPostgres.create();
    await cluster.start();
    target = await api('restarts', cluster.url);
  }, 90_000);

  afterAll(async () => {
    await admin?.close().catch(() => undefined);
    await target?.stop(2_000);
    await cluster?.destroy();
  }, 60_000);

  test('fast and immediate stops: every request is answered (503 with Retry-After while down) within 6.5 s, the process recovers by itself, nothing is lost', async () => {
    admin = await openPostgres({
      url: `${cluster.url}?application_name=hardening-admin`,
      maxConnections: 1,
      migrate: false,
    });
    const account = await seedAccount(admin.db, { fanIds: ['12345', '23456', '34567'] });
    const roles = ['owner', 'manager', 'chatter'] as const;
    const clients = await Promise.all(
      Array.from(
        { length: 6 },
        async (_, i) =>
          new SyncClient(['12345', '23456', '34567'][i % 3]!, await tokenFor(account.users[roles[i % 3]!])),
      ),
    );
    const plain: Exchange[] = [];
    const plainToken = await tokenFor(account.users.viewer);
    let running = true;
    const workers = [
      ...clients.map(async (client) => {
        while (running) {
          client.change();
          const exchange = await client.sync(target.url);
          if (exchange.code !== 'success') await delay(Math.min((exchange.retryAfter ?? 1) * 1000, 100));
        }
      }),
      (async () => {
        // Reads besides: list accounts, readiness.
        while (running) {
          const at = Date.now();
          const reply = await callEndpoint(
            target.url,
            endpoints.find((endpoint) => endpoint.procedure === 'accounts.list')!,
            'rest',
            {},
            { token: plainToken },
          );
          const outcome = outcomeOf(reply);
          plain.push({
            status: outcome.status,
            code: outcome.code,
            ms: reply.ms,
            retryAfter: Number(reply.headers.get('retry-after')) || null,
            at,
          });
          if (outcome.code !== 'success') await delay(100);
        }
      })(),
    ];

    const cycles: Record<string, unknown>[] = [];
    for (const mode of ['fast', 'immediate', 'fast', 'immediate'] as const) {
      await delay(1_500);
      const stoppedAt = Date.now();
      await cluster.stop(mode);
      faults.add(`database stopped (${mode})`);
      const downSeen = await waitFor(
        'requests to be answered 503 and /readyz to say so',
        async () => {
          const ready = await fetch(`${target.url}/readyz`);
          const failing = plain.filter(
            (exchange) => exchange.at > stoppedAt + 100 && exchange.status === 503,
          ).length;
          return ready.status === 503 && failing >= 3 ? failing : undefined;
        },
        10_000,
      );
      await cluster.start();
      const startedAt = Date.now();
      const recovered = await waitFor(
        'a request to succeed after the restart',
        () =>
          Promise.resolve(plain.find((exchange) => exchange.at >= startedAt && exchange.status === 200)?.at),
        10_000,
      );
      // Readiness follows: a pooled connection may still be reconnecting when the first request succeeds.
      const ready = await waitFor(
        '/readyz to answer 200 after the restart',
        async () => ((await fetch(`${target.url}/readyz`)).status === 200 ? { at: Date.now() } : undefined),
        3_000,
      );
      cycles.push({
        readyAfterMs: ready.at - startedAt,
        mode,
        downForMs: startedAt - stoppedAt,
        unavailableAnswers: downSeen,
        recoveredAfterMs: recovered - startedAt,
      });
    }
    await delay(1_000);
    running = false;
    await Promise.all(workers);
    await Promise.all(clients.map((client) => client.drain(() => [target.url], 20_000)));

    const exchanges = [...plain, ...clients.flatMap((client) => client.exchanges)];
    const answers = new Tally();
    for (const exchange of exchanges) answers.add(exchange.status);
    expect(Object.keys(answers.counts).filter((status) => !['200', '409', '503'].includes(status))).toEqual(
      [],
    );
    for (const exchange of exchanges)
      if (exchange.status === 503) expect(exchange.retryAfter).toBeGreaterThanOrEqual(1);
    expect(Math.max(...exchanges.map((exchange) => exchange.ms))).toBeLessThan(OUTAGE_DEADLINE_MS);
    for (const cycle of cycles) expect(cycle.recoveredAfterMs).toBeLessThan(5_000);
    const problems = (await Promise.all(clients.map((client) => client.differences(admin!.db)))).flat();
    rowsLost += problems.length;
    expect(problems).toEqual([]);
    expect(alive(target)).toBe(true);
    expect(errorLogs(target)).toEqual([]);
    figures.databaseRestarts = {
      cycles,
      requests: exchanges.length,
      answers: answers.counts,
      latencyMs: latencySummary(exchanges.map((exchange) => exchange.ms)),
      mutations: clients.reduce((sum, client) => sum + client.model.size, 0),
      rowsLost: problems.length,
    };
  }, 120_000);
});

describe('an API process killed (SIGKILL) mid-sync', () => {
  test('killed inside its transaction: nothing is written, and the retry on another process applies exactly once, with no lease left to wait for', async () => {
    const account = await seedAccount(db.admin, { fanIds: ['45678'] });
    const token = await tokenFor(account.users.chatter);
    const victim = await api('victim', db.url);
    const survivor = await api('survivor', db.url);
    const fanRowId = account.fans['45678']!;
    const clientId = randomUUID();
    await syncUntilApplied([victim.url], token, {
      fanId: '45678',
      clientId,
      mutations: createMutations(1, 1),
    });
    const before = await clientState(db.admin, fanRowId, clientId);

    const lock = await holdLock(
      db.url,
      sql`select * from sync_clients where client_id = ${clientId} for update`,
    );
    const input = { fanId: '45678', clientId, mutations: createMutations(2, 50) };
    const pending = callEndpoint(victim.url, sync, 'trpc', input, { token }).then(
      () => 'answered',
      (error: unknown) => {
        if (isNetworkError(error)) return 'no answer';
        throw error;
      },
    );
    await waitFor(
      'the sync to wait inside its transaction',
      async () => (await apiBackends(db.admin)).some((backend) => backend.waiting),
      5_000,
    );
    victim.child.kill('SIGKILL');
    faults.add('SIGKILL');
    expect(await victim.exited).toMatchObject({ signal: 'SIGKILL' });
    expect(await pending).toBe('no answer');
    await lock.release();
    await waitFor(
      'the killed process’s transaction to end',
      async () => (await apiBackends(db.admin)).every((backend) => !backend.waiting) || undefined,
      10_000,
    );
    expect(await clientState(db.admin, fanRowId, clientId), 'half-written').toEqual(before);

    // The victim's lease ended with its session: the retry is not refused.
    expect(await leasesHeld(db.admin)).toBe(0);
    const retried = await syncUntilApplied([survivor.url], token, input);
    expect(retried.answers.counts).toEqual({ 200: 1 });
    expect(new Set(retried.data.results.map((result) => result.status))).toEqual(new Set(['applied']));
    expect(retried.data.lastMutationId).toBe(51);
    const after = await clientState(db.admin, fanRowId, clientId);
    expect(after.notes).toHaveLength(51);
    figures.killedInTransaction = { retryAnswers: retried.answers.counts };
  }, 60_000);

  test('killed at random moments under 6 concurrent clients, three times: every client’s changes land exactly once', async () => {
    const account = await seedAccount(db.admin, { fanIds: ['56789', '67890'] });
    const roles = ['owner', 'manager', 'chatter'] as const;
    const clients = await Promise.all(
      Array.from(
        { length: 6 },
        async (_, i) =>
          new SyncClient(i % 2 ? '56789' : '67890', await tokenFor(account.users[roles[i % 3]!])),
      ),
    );
    let current = await api('kill-0', db.url);
    let running = true;
    const workers = clients.map(async (client) => {
      while (running) {
        client.change();
        try {
          const exchange = await client.sync(current.url);
          if (exchange.code !== 'success') await delay(Math.min((exchange.retryAfter ?? 1) * 1000, 100));
        } catch (error) {
          if (!isNetworkError(error)) throw error;
          await delay(50);
        }
      }
    });
    const kills: number[] = [];
    for (let round = 1; round <= 3; round++) {
      await delay(800 + Math.random() * 1_200);
      current.child.kill('SIGKILL');
      faults.add('SIGKILL');
      kills.push(Date.now());
      await current.exited;
      current = await api(`kill-${round}`, db.url);
    }
    await delay(1_000);
    running = false;
    await Promise.all(workers);
    await Promise.all(clients.map((client) => client.drain(() => [current.url], 30_000)));
    const problems = (await Promise.all(clients.map((client) => client.differences(db.admin)))).flat();
    rowsLost += problems.length;
    expect(problems).toEqual([]);
    const answers = new Tally();
    for (const exchange of clients.flatMap((client) => client.exchanges)) answers.add(exchange.status);
    expect(Object.keys(answers.counts).filter((status) => !['200', '409', '503'].includes(status))).toEqual(
      [],
    );
    figures.killedUnderLoad = {
      kills: kills.length,
      answers: answers.counts,
      mutations: clients.reduce((sum, client) => sum + client.model.size, 0),
      rowsLost: problems.length,
    };
  }, 120_000);
});

describe('regression: postgres.js and a connection closed mid-transaction (patches/postgres@3.4.9.patch)', () => {
  test('statements of a transaction whose backend was terminated reject; the process neither crashes nor hangs, and the pool recovers', async () => {
    const victim = await openPostgres({
      url: `${db.url}?application_name=hardening-victim`,
      maxConnections: 2,
      migrate: false,
    });
    const outcomes = new Tally();
    try {
      for (let i = 0; i < 20; i++) {
        const attempt = victim.db.transaction(async (tx) => {
          const result: unknown = await tx.execute(sql`select pg_backend_pid() as pid`);
          const [row] = result as { pid: number }[];
          await terminate(db.admin, [row!.pid]);
          await waitFor(
            'the backend to be gone',
            async () =>
              (await rows(db.admin, sql`select 1 from pg_stat_activity where pid = ${row!.pid}`)).length ===
                0 || undefined,
            5_000,
          );
          await tx.execute(sql`select ${i}::int as i`);
        });
        const settled = await Promise.race([
          attempt.then(
            () => 'committed',
            (error: unknown) => (error as { cause?: { code?: string } }).cause?.code ?? 'rejected',
          ),
          delay(5_000).then(() => 'hung'),
        ]);
        outcomes.add(settled);
        faults.add('pg_terminate_backend');
        expect(settled).not.toBe('hung');
        expect(settled).not.toBe('committed');
        // The pool serves the next statement (a fresh connection).
        await waitFor(
          'the pool to recover',
          async () => (await victim.db.execute(sql`select 1`)) && true,
          5_000,
        );
      }
    } finally {
      await victim.close();
    }
    figures.driverRegression = { transactions: 20, outcomes: outcomes.counts };
  }, 120_000);
});

describe('after every fault', () => {
  test('no API process that was not killed on purpose exited, and none logged an error', () => {
    const survivors = processes.filter(
      (process) => !process.name.startsWith('kill-') && process.name !== 'victim',
    );
    for (const process of survivors)
      if (process.name !== 'restarts') expect(alive(process), process.name).toBe(true);
    expect(errorLogs(...processes)).toEqual([]);
  });
});
