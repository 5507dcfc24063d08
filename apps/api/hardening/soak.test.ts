import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { SOAK_MS } from './lib/config.ts';
import {
  createHardeningDatabase,
  seedAccount,
  seedNote,
  type HardeningDatabase,
  type SeededAccount,
} from './lib/database.ts';
import { callEndpoint, endpoints } from './lib/endpoints.ts';
import { latencySummary, recordFigures, Tally } from './lib/figures.ts';
import { outcomeOf, send, type Reply, type Surface } from './lib/http.ts';
import { alive, dropInfoLogs, errorLogs, rssKiB, startApi, type ApiProcess } from './lib/processes.ts';
import { SyncClient } from './lib/sync-client.ts';
import { tokenFor } from './lib/tokens.ts';

// The memory soak: one API process with production settings (pool, throttle, per-user budget, info
// logs) under steady mixed load for HARDENING_SOAK_MS (5 minutes unless shortened) after a warm-up:
// syncs with changes from 40 extension clients, reads, single-note writes, account and member calls,
// and refused requests (bad JSON, no token, unknown fans, unknown fields), over REST and tRPC. Its
// resident memory must stay flat, no answer may be a 5xx, and every client's changes must be stored
// exactly once at the end.

/** The bound: resident memory in the last minute (its floor and median) may exceed the first minute's by at most this. */
const RSS_GROWTH_LIMIT_MIB = 50;
const WARMUP_MS = Math.min(30_000, Math.max(5_000, Math.round(SOAK_MS / 10)));
const WORKERS = 12;

let db: HardeningDatabase;
let api: ApiProcess;

beforeAll(async () => {
  db = await createHardeningDatabase();
  // V8's old space capped as a container's memory limit would: uncapped, on a 24 GB machine, the
  // collector lets garbage pile up for minutes (CI runs held 50 MiB plateaus, then gave them back), and
  // the RSS floor measured that laziness rather than what the process keeps. Capped, garbage is
  // collected as it goes, and a leak still raises the floor (or ends the process: \`alive\` below).
  api = await startApi('soak', db.url, {
    RATE_LIMIT_PER_MINUTE: '300',
    RATE_LIMIT_BURST: '120',
    NODE_OPTIONS: '--max-old-space-size=128',
  });
}, 90_000);

afterAll(async () => {
  await api?.stop();
  await db?.close();
}, 60_000);

const procedure = (name: string) => endpoints.find((endpoint) => endpoint.procedure === name)!;

test(
  `memory stays flat over a ${Math.round(SOAK_MS / 1000)} s soak, with no 5xx and no change lost`,
  async () => {
    const accounts: SeededAccount[] = [];
    const notesByAccount: string[][] = [];
    for (let i = 0; i < 40; i++) {
      const account = await seedAccount(db.admin, { fanIds: ['10001', '10002', '10003', '10004', '10005'] });
      accounts.push(account);
      notesByAccount.push([
        await seedNote(db.admin, account, '10001', { content: 'Likes cats.' }),
        await seedNote(db.admin, account, '10002', { content: 'Tips on Fridays.', onlyFansNoteId: '10002' }),
      ]);
    }
    const roles = ['owner', 'manager', 'chatter', 'viewer'] as const;
    const tokens = await Promise.all(
      accounts.map((account) => Promise.all(roles.map((role) => tokenFor(account.users[role])))),
    );
    const clients = await Promise.all(
      accounts.map(
        async (account, i) =>
          new SyncClient(i % 2 ? '10003' : '10004', await tokenFor(account.users.chatter)),
      ),
    );

    const answers = new Tally();
    const latencies: number[] = [];
    let requests = 0;
    let running = true;
    const pick = <T>(items: readonly T[]) => items[Math.floor(Math.random() * items.length)]!;

    async function one(): Promise<void> {
      const a = Math.floor(Math.random() * accounts.length);
      const account = accounts[a]!;
      const token = pick(tokens[a]!);
      const writer = tokens[a]![2]!;
      const surface: Surface = Math.random() < 0.5 ? 'rest' : 'trpc';
      const roll = Math.random();
      let reply: Reply;
      if (roll < 0.3) {
        const client = clients[a]!;
        client.change(Math.random, 25);
        const exchange = await client.sync(api.url);
        answers.add(exchange.status);
        latencies.push(exchange.ms);
        requests++;
        return;
      } else if (roll < 0.45)
        reply = await callEndpoint(
          api.url,
          procedure('notes.sync'),
          surface,
          { fanId: pick(['10001', '10002', '10005']) },
          { token },
        );
      else if (roll < 0.55)
        reply = await callEndpoint(
          api.url,
          procedure('notes.update'),
          surface,
          {
            fanId: '10001',
            noteId: notesByAccount[a]![0],
            content: `Likes cats (${Date.now()}).`,
            isPinned: Math.random() < 0.5,
          },
          { token: writer },
        );
      else if (roll < 0.6)
        reply = await callEndpoint(
          api.url,
          procedure('notes.updateFromOnlyFans'),
          surface,
          {
            fanId: '10002',
            onlyFansNoteId: '10002',
            content: `Tips on Fridays (${Math.floor(Date.now() / 10_000)}).`,
          },
          { token: writer },
        );
      else if (roll < 0.7)
        reply = await callEndpoint(
          api.url,
          procedure('accounts.list'),
          surface,
          surface === 'rest' ? {} : undefined,
          { token },
        );
      else if (roll < 0.78)
        reply = await callEndpoint(
          api.url,
          procedure('accounts.members'),
          surface,
          { accountId: account.accountId },
          { token },
        );
      else if (roll < 0.82)
        reply = await callEndpoint(
          api.url,
          procedure('fans.upsert'),
          surface,
          { accountId: account.accountId, fanId: '10005', name: `Fan ${Date.now() % 1000}` },
          { token: writer },
        );
      else if (roll < 0.85) reply = await send(api.url, 'GET', '/readyz');
      else if (roll < 0.88)
        reply = await send(api.url, 'POST', '/api/v2/sync-notes', {
          token,
          body: { raw: '{"fanId": "10001",' },
        });
      else if (roll < 0.91)
        reply = await callEndpoint(
          api.url,
          procedure('notes.sync'),
          surface,
          { fanId: '10001' },
          { token: null },
        );
      else if (roll < 0.94)
        reply = await callEndpoint(api.url, procedure('notes.sync'), surface, { fanId: '99999' }, { token });
      else if (roll < 0.97)
        reply = await callEndpoint(
          api.url,
          procedure('notes.update'),
          surface,
          { fanId: '10001', content: 'x', bogus: true },
          { token },
        );
      else
        reply = await callEndpoint(
          api.url,
          procedure('notes.sync'),
          surface,
          { fanId: '10001', force: true },
          { token: writer },
        );
      requests++;
      latencies.push(reply.ms);
      if (
        reply.surface === 'rest' &&
        reply.status === 200 &&
        !reply.headers.get('content-type')?.includes('json')
      )
        answers.add('non-JSON 200');
      else if (reply.text.startsWith('{"status":"ok"')) answers.add(reply.status);
      else answers.add(outcomeOf(reply).status);
    }

    const workers = Array.from({ length: WORKERS }, async () => {
      while (running) {
        await one();
        await delay(20 + Math.random() * 40);
      }
    });

    await delay(WARMUP_MS);
    const rss: { atMs: number; mib: number }[] = [];
    const soakStarted = Date.now();
    const requestsAtStart = requests;
    const sample = () =>
      rss.push({
        atMs: Date.now() - soakStarted,
        mib: Math.round((rssKiB(api.child.pid!) / 1024) * 10) / 10,
      });
    sample();
    while (Date.now() - soakStarted < SOAK_MS) {
      await delay(Math.min(5_000, SOAK_MS - (Date.now() - soakStarted) + 1));
      sample();
      dropInfoLogs(api);
    }
    running = false;
    await Promise.all(workers);
    const soakMs = Date.now() - soakStarted;

    await Promise.all(clients.map((client) => client.drain(() => [api.url], 60_000)));
    const problems = (await Promise.all(clients.map((client) => client.differences(db.admin)))).flat();

    const start = rss[0]!.mib;
    const end = rss.at(-1)!.mib;
    // Garbage collection swings resident memory by tens of MiB between samples: a leak shows as the
    // level of the last minute rising above that of the first, so windows are compared, not two points.
    const windowMs = Math.min(60_000, soakMs / 3);
    const first = windowStats(rss.filter((s) => s.atMs <= windowMs).map((s) => s.mib));
    const last = windowStats(rss.filter((s) => s.atMs >= soakMs - windowMs).map((s) => s.mib));
    const figures = {
      soakMs,
      warmupMs: WARMUP_MS,
      workers: WORKERS,
      requests,
      requestsDuringSoak: requests - requestsAtStart,
      requestsPerSecond: Math.round(((requests - requestsAtStart) / soakMs) * 1000),
      answers: answers.counts,
      serverErrors: answers.serverErrors,
      latencyMs: latencySummary(latencies),
      rssMiB: {
        start,
        end,
        growth: Math.round((end - start) * 10) / 10,
        min: Math.min(...rss.map((s) => s.mib)),
        max: Math.max(...rss.map((s) => s.mib)),
        firstMinute: first,
        lastMinute: last,
        limit: RSS_GROWTH_LIMIT_MIB,
      },
      rssSeries: rss.filter((_, i) => i % 6 === 0 || i === rss.length - 1),
      mutations: clients.reduce((sum, client) => sum + client.model.size, 0),
      rowsLost: problems.length,
    };
    recordFigures('soak', figures);
    process.stdout.write(
      `\nsoak: RSS ${start} MiB after warm-up, ${end} MiB after ${Math.round(soakMs / 1000)} s (${figures.requestsDuringSoak} requests, ${figures.requestsPerSecond}/s)\n`,
    );

    expect(answers.serverErrors, JSON.stringify(answers.counts)).toBe(0);
    expect(answers.get('non-JSON 200')).toBe(0);
    expect(problems).toEqual([]);
    // A leak raises the floor, memory kept after each collection: the last minute's lowest sample
    // against the first minute's. Not the peaks nor the medians: they are where the collector happened
    // to be. With --heap-growing-percent=50 the heap saws by about 90 MiB at this load, and V8 may hold
    // a higher plateau for minutes before a full collection gives it back (a CI run: 276-281 MiB from
    // the second minute to the last, then 204 MiB, with the first minute's floor at 183).
    expect(last.min).toBeLessThan(first.min + RSS_GROWTH_LIMIT_MIB);
    expect(alive(api)).toBe(true);
    expect(errorLogs(api)).toEqual([]);
  },
  SOAK_MS + 240_000,
);

function windowStats(values: number[]): { min: number; median: number; max: number; samples: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    min: sorted[0] ?? 0,
    median: sorted[Math.floor(sorted.length / 2)] ?? 0,
    max: sorted.at(-1) ?? 0,
    samples: sorted.length,
  };
}
