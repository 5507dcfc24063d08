import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  apiBackends,
  createHardeningDatabase,
  seedAccount,
  seedNote,
  type HardeningDatabase,
} from './lib/database.ts';
import { callEndpoint, endpoints } from './lib/endpoints.ts';
import { latencySummary, recordFigures, Tally } from './lib/figures.ts';
import { outcomeOf, send, statuses, type Reply } from './lib/http.ts';
import { alive, errorLogs, LIMITS_OFF, rssKiB, startApi, waitFor, type ApiProcess } from './lib/processes.ts';
import { tokenFor } from './lib/tokens.ts';

// Overload: the per-user request budget (429 with Retry-After, other users unaffected) of a real
// process; the database pool bounded (DB_POOL_MAX) under a flood of requests that all need it; request
// time bounded for clients that send too slowly (headers, body) or not at all. test/request-budget
// shows the budget in process with a fake clock.

let db: HardeningDatabase;
const processes: ApiProcess[] = [];
const figures: Record<string, unknown> = {};

beforeAll(async () => {
  db = await createHardeningDatabase();
}, 60_000);

afterAll(async () => {
  await Promise.all(processes.map((process) => process.stop()));
  await db?.close();
  recordFigures('overload', {
    ...figures,
    requests: statuses.total,
    byStatus: statuses.counts,
    serverErrors: statuses.serverErrors,
  });
}, 60_000);

const list = endpoints.find((endpoint) => endpoint.procedure === 'accounts.list')!;
const sync = endpoints.find((endpoint) => endpoint.procedure === 'notes.sync')!;
const updateNote = endpoints.find((endpoint) => endpoint.procedure === 'notes.update')!;
const members = endpoints.find((endpoint) => endpoint.procedure === 'accounts.members')!;

describe('the per-user request budget', () => {
  test('a burst over the budget is 429 with Retry-After on both surfaces, others are served, and it is allowed again after Retry-After', async () => {
    // The budget alone: its 200 requests at once would otherwise meet the limit of 4 at once first.
    const api = await startApi('budget', db.url, {
      RATE_LIMIT_PER_MINUTE: '60',
      RATE_LIMIT_BURST: '20',
      RATE_LIMIT_CONCURRENT: '0',
    });
    processes.push(api);
    const account = await seedAccount(db.admin);
    const greedy = await tokenFor(account.users.chatter);
    const polite = await tokenFor(account.users.viewer);

    const burst = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        callEndpoint(api.url, i % 2 ? list : sync, i % 3 ? 'rest' : 'trpc', i % 2 ? {} : { fanId: '12345' }, {
          token: greedy,
        }),
      ),
    );
    const others = await Promise.all(
      Array.from({ length: 10 }, () => callEndpoint(api.url, list, 'trpc', undefined, { token: polite })),
    );
    const answers = new Tally();
    let retryAfter = 0;
    for (const reply of burst) {
      const outcome = outcomeOf(reply);
      answers.add(outcome.code);
      if (outcome.code === 'rate_limit_exceeded') {
        expect(reply.status).toBe(429);
        retryAfter = Math.max(retryAfter, Number(reply.headers.get('retry-after')));
      } else expect(outcome.code).toBe('success');
    }
    // 20 at once, plus what one token a second refills during the burst.
    expect(answers.get('success')).toBeGreaterThanOrEqual(20);
    expect(answers.get('success')).toBeLessThanOrEqual(23);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    for (const reply of others) expect(outcomeOf(reply).code).toBe('success');

    const refusedAt = Date.now();
    const allowedAt = await waitFor(
      'the budget to allow the user again',
      async () =>
        outcomeOf(await callEndpoint(api.url, list, 'rest', {}, { token: greedy })).code === 'success'
          ? Date.now()
          : undefined,
      5_000,
    );
    expect(allowedAt - refusedAt).toBeLessThanOrEqual(retryAfter * 1000 + 500);
    figures.budget = {
      burst: burst.length,
      answers: answers.counts,
      retryAfterSeconds: retryAfter,
      otherUserAnswers: others.map((reply) => reply.status),
      allowedAgainAfterMs: allowedAt - refusedAt,
    };
  }, 60_000);
});

describe('the database pool under a flood', () => {
  test('600 simultaneous requests of 30 users on a 4-connection pool: the process never opens more than 4 pool connections (plus its one listener), answers every request without a 5xx, and stays responsive', async () => {
    const POOL = 4;
    // Its connections carry their own name, so that they are counted apart from other processes'.
    // 20 requests at once per user, on purpose (LIMITS_OFF): the pool is what is flooded.
    const api = await startApi('pool', `${db.url}?application_name=fannotes-api-pool`, {
      ...LIMITS_OFF,
      DB_POOL_MAX: String(POOL),
      SYNC_MIN_INTERVAL_MS: '0',
      SYNC_FORCE_FLOOR_MS: '0',
    });
    processes.push(api);
    const fanIds = Array.from({ length: 30 }, (_, i) => String(700_000 + i));
    const account = await seedAccount(db.admin, {
      fanIds,
      extra: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`user${i}`, 'chatter' as const])),
    });
    await seedNote(db.admin, account, fanIds[0]!, { content: 'Hello.' });
    const tokens = await Promise.all(
      Array.from({ length: 30 }, (_, i) => tokenFor(account.users[`user${i}`]!)),
    );

    let sampling = true;
    let peak = 0;
    let listeners = 0;
    let samples = 0;
    const sampler = (async () => {
      while (sampling) {
        const backends = await apiBackends(db.admin, 'fannotes-api-pool');
        peak = Math.max(peak, backends.filter((backend) => !backend.listening).length);
        listeners = Math.max(listeners, backends.filter((backend) => backend.listening).length);
        samples++;
        await delay(10);
      }
    })();
    const health: number[] = [];
    const healthProbe = (async () => {
      while (sampling) {
        const started = performance.now();
        await fetch(`${api.url}/healthz`);
        health.push(performance.now() - started);
        await delay(50);
      }
    })();

    const started = Date.now();
    const replies = await Promise.all(
      Array.from({ length: 600 }, (_, i): Promise<Reply> => {
        const token = tokens[i % 30]!;
        const fanId = fanIds[i % 30]!;
        switch (i % 4) {
          case 0:
            return callEndpoint(
              api.url,
              sync,
              'rest',
              {
                fanId,
                clientId: randomUUID(),
                mutations: [
                  {
                    id: 1,
                    op: 'upsert',
                    noteId: `note_${randomUUID()}`,
                    baseVersion: 0,
                    note: { content: `Flood ${i}.` },
                  },
                ],
              },
              { token },
            );
          case 1:
            return callEndpoint(api.url, updateNote, 'trpc', { fanId, content: `Flood ${i}.` }, { token });
          case 2:
            return callEndpoint(api.url, members, 'rest', { accountId: account.accountId }, { token });
          default:
            return callEndpoint(api.url, sync, 'trpc', { fanId }, { token });
        }
      }),
    );
    const floodMs = Date.now() - started;
    sampling = false;
    await Promise.all([sampler, healthProbe]);

    const answers = new Tally();
    for (const reply of replies) {
      const outcome = outcomeOf(reply);
      answers.add(outcome.status);
      expect(['success', 'sync_in_progress']).toContain(outcome.code);
    }
    expect(peak).toBeLessThanOrEqual(POOL);
    expect(peak).toBeGreaterThan(0);
    // Besides the pool, the one connection that listens for live updates, whatever the load.
    expect(listeners).toBe(1);
    const latency = latencySummary(replies.map((reply) => reply.ms));
    expect(latency.max).toBeLessThan(10_000);
    // A stall guard: a blocked event loop would hold /healthz for the whole flood (seconds). Not tighter:
    // on a slower 2-core host the same code (before and after 2026-12-04's statement shapes) answered
    // it in 1.15-1.18 s at worst, queued behind 600 requests' own work on the one thread.
    expect(Math.max(...health)).toBeLessThan(2_000);
    expect(alive(api)).toBe(true);
    figures.pool = {
      requests: replies.length,
      poolMax: POOL,
      peakConnections: peak,
      listeningConnections: listeners,
      connectionSamples: samples,
      answers: answers.counts,
      latencyMs: latency,
      floodMs,
      healthzDuringFloodMs: latencySummary(health),
    };
  }, 90_000);
});

describe('one user reading a huge fan as hard as they can (issue 13.3)', () => {
  let api: ApiProcess;
  let greedy: string;
  /** A bystander per run, each with a budget of their own. */
  let polite: string[];

  beforeAll(async () => {
    // Production defaults: the request budget, 4 requests at once per user, 1 MiB pages.
    api = await startApi('heavy', db.url, { RATE_LIMIT_PER_MINUTE: '300', RATE_LIMIT_BURST: '120' });
    processes.push(api);
    const attacker = await seedAccount(db.admin, { fanIds: ['31337'] });
    const bystander = await seedAccount(db.admin, {
      fanIds: ['4242'],
      extra: { first: 'chatter', second: 'chatter' },
    });
    const fanRowId = attacker.fans['31337']!;
    // 2,000 notes (the cap) of 5,000 four-byte characters: 40 MB of text, as any signed-up user
    // could write; a hundred notes to a version, as pushes leave them.
    await db.admin.execute(sql`
      insert into notes (id, fan_row_id, account_id, content, version, content_version, created_at, updated_at)
      select 'note_' || gen_random_uuid(), ${fanRowId}, ${attacker.accountId},
        repeat('💪', 4990) || lpad(i::text, 10, '0'), (i - 1) / 100 + 1, (i - 1) / 100 + 1, now(), now()
      from generate_series(1, 2000) as i`);
    await db.admin.execute(sql`update fans set version = 20, live_note_count = 2000 where id = ${fanRowId}`);
    await seedNote(db.admin, bystander, '4242', { content: 'Bystander note.' });
    greedy = await tokenFor(attacker.users.chatter);
    polite = await Promise.all([tokenFor(bystander.users.first!), tokenFor(bystander.users.second!)]);
  }, 60_000);

  /** The per-user limit of requests at once (RATE_LIMIT_CONCURRENT's default): the attacker's at most. */
  const CONCURRENT = 4;

  /** One of the attacker's reads alone (a page of about 1 MiB), the median of three. */
  async function heavyReadMs(): Promise<number> {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const reply = await callEndpoint(api.url, sync, 'rest', { fanId: '31337' }, { token: greedy });
      expect(reply.status).toBe(200);
      times.push(reply.ms);
    }
    return times.sort((a, b) => a - b)[1]!;
  }

  /** The bystander's sync latencies, alone, for `ms` (after five warm-up requests). */
  async function bystanderLatencies(token: string, ms: number) {
    const latencies: number[] = [];
    for (const deadline = Date.now() + ms; Date.now() < deadline;) {
      const reply = await callEndpoint(api.url, sync, 'rest', { fanId: '4242' }, { token });
      expect(reply.status).toBe(200);
      latencies.push(reply.ms);
      await delay(75);
    }
    return latencies.slice(5);
  }

  for (const honour of [false, true]) {
    const how = honour ? 'waiting as Retry-After says' : 'ignoring Retry-After';
    test(`regression: 36 simultaneous reads of a fan of 2,000 notes of 5,000 emoji, ${how}, held another tenant's sync for seconds; now its p99 stays under 200 ms (or 10x its p99 alone, or twice the wait behind the attacker's 4 reads at once, on a slower machine), the API under 300 MB, no 5xx`, async () => {
      // The bystander's own latency with nobody attacking, in this run: the machine is shared and
      // noisy, so the bound below is relative to it (and never tighter than 200 ms).
      const quiet = latencySummary(await bystanderLatencies(polite[Number(honour)]!, 4_000));
      // The attacker holds at most CONCURRENT reads at once on the process's one thread, so the
      // bystander waits behind that many heavy answers, and once more as many if the slots turn over
      // while it waits, but never behind all 36 (seconds, before issue 13.3's fix). On a slower host
      // that, not the bystander's own time alone, is the bound.
      const heavy = await heavyReadMs();
      let peakRss = rssKiB(api.child.pid!);
      const sampler = setInterval(() => {
        if (alive(api)) peakRss = Math.max(peakRss, rssKiB(api.child.pid!));
      }, 50);
      // The attacker runs in a process of its own, as it would: its request loop must not slow the
      // bystander's measurement here. 36 loops, each sending its next read once its last is answered.
      const attack = runAttacker(api.url, greedy, '31337', 36, 10_000, honour);
      const deadline = Date.now() + 10_000;
      const latencies: number[] = [];
      const bystanderAnswers = new Tally();
      // A chatter's panel syncing its fan ten times a second, far more often than it would.
      while (Date.now() < deadline) {
        const reply = await callEndpoint(
          api.url,
          sync,
          'rest',
          { fanId: '4242' },
          { token: polite[Number(honour)] },
        );
        bystanderAnswers.add(reply.status);
        expect(reply.status).toBe(200);
        expect(
          (reply.json as { data: { notes: { content: string }[] } }).data.notes.map((n) => n.content),
        ).toEqual(['Bystander note.']);
        latencies.push(reply.ms);
        await delay(75);
      }
      const attacked = await attack;
      clearInterval(sampler);
      const latency = latencySummary(latencies);
      const result = {
        attacker: {
          answers: attacked.statuses,
          megabytes: Math.round(attacked.bytes / 1e5) / 10,
          largestAnswer: attacked.largest,
        },
        bystander: { answers: bystanderAnswers.counts, latencyMs: latency, quietLatencyMs: quiet },
        heavyReadAloneMs: heavy,
        peakRssMB: Math.round(peakRss / 1024),
      };
      figures[honour ? 'heavyReadsPolite' : 'heavyReadsFlood'] = result;
      process.stdout.write(`heavy reads, ${how}: ${JSON.stringify(result)}\n`);
      for (const status of Object.keys(attacked.statuses)) expect([200, 429]).toContain(Number(status));
      expect(attacked.statuses['200']).toBeGreaterThan(0);
      expect(attacked.largest).toBeLessThan(1.1 * 1024 * 1024);
      expect(latency.p99).toBeLessThan(Math.max(200, 10 * quiet.p99, 2 * CONCURRENT * heavy));
      expect(peakRss / 1024).toBeLessThan(300);
    }, 60_000);
  }
});

describe('bounded request time', () => {
  /** A raw connection that sends `first`, then `drip` every `everyMs`, and records how it ended. */
  function slowClient(port: number, first: string, drip: string, everyMs: number) {
    const started = Date.now();
    let answer = '';
    let timer: NodeJS.Timeout | undefined;
    const socket: Socket = connect(port, '127.0.0.1', () => {
      socket.write(first);
      timer = setInterval(() => socket.writable && socket.write(drip), everyMs);
    });
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', () => undefined);
    const closed = new Promise<{ ms: number; answer: string }>((resolve) =>
      socket.on('close', () => {
        clearInterval(timer);
        resolve({ ms: Date.now() - started, answer });
      }),
    );
    return { closed, destroy: () => socket.destroy() };
  }

  test('clients that send headers or a body too slowly, or nothing at all, are cut off (408 with the envelope) while others are served', async () => {
    const api = await startApi('slow-clients', db.url);
    processes.push(api);
    const port = Number(new URL(api.url).port);
    const account = await seedAccount(db.admin);
    const token = await tokenFor(account.users.owner);

    const slowHeaders = Array.from({ length: 100 }, () =>
      slowClient(port, 'GET /api/v2/accounts HTTP/1.1\r\nHost: x\r\n', 'X-Slow: 1\r\n', 1_000),
    );
    const slowBodies = Array.from({ length: 20 }, () =>
      slowClient(
        port,
        `POST /api/v2/update-note HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`,
        ' ',
        1_000,
      ),
    );
    const silent = Array.from({ length: 100 }, () => slowClient(port, '', '', 60_000));

    // Meanwhile, everyone else is served normally.
    const served: number[] = [];
    for (let i = 0; i < 20; i++) {
      const reply = await send(api.url, 'GET', '/api/v2/accounts', { token });
      expect(reply.status).toBe(200);
      served.push(reply.ms);
      await delay(200);
    }

    const headerEnds = await Promise.all(slowHeaders.map((client) => client.closed));
    const silentEnds = await Promise.all(silent.map((client) => client.closed));
    const bodyEnds = await Promise.all(slowBodies.map((client) => client.closed));
    for (const end of [...headerEnds, ...bodyEnds]) {
      const [head, body] = end.answer.split('\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1.1 408 /);
      expect(JSON.parse(body!)).toMatchObject({ status: 'error', error: { code: 'validation_error' } });
    }
    // headersTimeout 10 s, requestTimeout 30 s, each checked every second (app.ts); a silent connection
    // counts as slow headers.
    for (const end of [...headerEnds, ...silentEnds]) expect(end.ms).toBeLessThan(12_500);
    for (const end of bodyEnds) expect(end.ms).toBeLessThan(32_500);
    expect(Math.max(...served)).toBeLessThan(1_000);
    expect(alive(api)).toBe(true);
    figures.slowClients = {
      slowHeaderClients: headerEnds.length,
      slowHeadersCutAfterMs: latencySummary(headerEnds.map((end) => end.ms)),
      silentClients: silentEnds.length,
      silentCutAfterMs: latencySummary(silentEnds.map((end) => end.ms)),
      slowBodyClients: bodyEnds.length,
      slowBodiesCutAfterMs: latencySummary(bodyEnds.map((end) => end.ms)),
      othersServedMs: latencySummary(served),
    };
  }, 60_000);

  test('no process logged an error', () => {
    expect(errorLogs(...processes)).toEqual([]);
  });
});

/**
 * `loops` concurrent request loops from a separate Node process, each reading `fanId` again as soon as
 * its last read was answered, for `ms`: the answers by status, the bytes read and the largest answer.
 */
function runAttacker(
  base: string,
  token: string,
  fanId: string,
  loops: number,
  ms: number,
  honour: boolean,
): Promise<{ statuses: Record<string, number>; bytes: number; largest: number }> {
  const script = `
    const [base, token, fanId, loops, ms, honourText] = process.argv.slice(1);
    const honour = honourText === 'true';
    const deadline = Date.now() + Number(ms);
    const statuses = {};
    let bytes = 0, largest = 0;
    const loop = async () => {
      while (Date.now() < deadline) {
        const response = await fetch(base + '/api/v2/sync-notes', {
          method: 'POST',
          headers: { authorization: 'Bearer ' + token, 'content-type': 'application/json' },
          body: JSON.stringify({ fanId }),
        });
        const body = Buffer.from(await response.arrayBuffer());
        statuses[response.status] = (statuses[response.status] ?? 0) + 1;
        bytes += body.length;
        largest = Math.max(largest, body.length);
        const retryAfter = Number(response.headers.get('retry-after') ?? 0);
        if (honour && retryAfter > 0) await new Promise((r) => setTimeout(r, retryAfter * 1000));
      }
    };
    Promise.all(Array.from({ length: Number(loops) }, loop)).then(() =>
      process.stdout.write(JSON.stringify({ statuses, bytes, largest })));`;
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['-e', script, base, token, fanId, String(loops), String(ms), String(honour)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as never) : reject(new Error(`attacker exited with ${code}`)),
    );
  });
}
