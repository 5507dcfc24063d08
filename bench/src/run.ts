/**
 * `pnpm bench`: our API against its floors (floor-server.ts: floor-read.ts for reads, floor-write.ts
 * for pushes), on one machine and one database, in one run. See docs/PERFORMANCE.md for what each
 * scenario does and what the numbers mean.
 *
 * Flags: --duration <s> per full-load run (default 5), --half-duration <s> per half-load run (default
 * 3), --rounds <n> A/B rounds (default 3: the median of three is not moved by one stalled round, the
 * median of two is), --connections <n> (default 10), --only <scenario,...> (throttled-read,
 * delta-pull, full-sync, push-1, push-100, cold-fan, two-processes, live), --old-baseline (compare
 * with the baseline of before issue 18 instead of the floors: a join, not prepared; the history's
 * ratios), --floor-stack (the floors behind Fastify and tRPC, floor-stack.ts: what that stack costs
 * alone; not the targets' comparison, so nothing is written), --api-env KEY=VALUE (repeatable: an environment variable for every API process, e.g.
 * DB_PREPARE=0 for what a transaction-mode pooler's settings cost), --profile (API processes write
 * --cpu-prof profiles to bench/results/profiles/), --no-write (print only).
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openPglite, openPostgres } from '@fannotes/db';
import postgres from 'postgres';
import { mintToken } from '../../apps/api/src/auth/dev-keys.ts';
import { runLive, type LiveReport } from './live.ts';
import { drive, median, pace, probe, type LoadResult, type ProbeResult } from './load.ts';
import { runMicro } from './micro.ts';
import {
  apiDir,
  apiStartArgs,
  benchDir,
  buildApi,
  buildFloors,
  floorStartArgs,
  oldBaselineStartArgs,
  startServer,
  type ServerProcess,
} from './processes.ts';
import {
  renderReport,
  writeReport,
  type BenchReport,
  type ScenarioReport,
  type TwoProcessReport,
} from './report.ts';
import { makeScenarios, type ApiMode, type Scenario } from './scenarios.ts';
import { insertSeed, makeSeed, PGLITE_SIZE, POSTGRES_SIZE } from './seed.ts';

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    'half-duration': { type: 'string', default: '3' },
    'old-baseline': { type: 'boolean', default: false },
    'floor-stack': { type: 'boolean', default: false },
    'api-env': { type: 'string', multiple: true },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
    only: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
  },
});
const DURATION = Number(flags.duration);
const HALF_DURATION = Number(flags['half-duration']);
const ROUNDS = Number(flags.rounds);
const CONNECTIONS = Number(flags.connections);
/** The round-trip probe: 10 requests counted, after 3 rounds of one per load connection at once. */
const PROBE = { count: 10, warmup: 3, slots: CONNECTIONS };
const SCENARIO_ORDER = ['throttled-read', 'delta-pull', 'full-sync', 'push-1', 'push-100', 'cold-fan'];
/** Throttled reads on two API processes against one (PostgreSQL only). */
const TWO_PROCESSES = 'two-processes';
/** Live updates (live.ts): two API processes, so PostgreSQL only. */
const LIVE = 'live';
const selected = flags.only ? flags.only.split(',') : [...SCENARIO_ORDER, TWO_PROCESSES, LIVE];
for (const name of selected) {
  if (![...SCENARIO_ORDER, TWO_PROCESSES, LIVE].includes(name))
    throw new Error(`--only: no scenario ${name}`);
}
const SUPABASE_URL = 'http://127.0.0.1:54321';
const THROTTLED_INTERVAL_MS = 600_000;
const API_ENV = Object.fromEntries(
  (flags['api-env'] ?? []).map((pair) => {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`--api-env: KEY=VALUE, got ${pair}`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  }),
);

const benchStarted = Date.now();
/** Each line with the seconds since the start: where a run's time goes. */
const log = (message: string) =>
  process.stderr.write(`[bench +${Math.round((Date.now() - benchStarted) / 1000)}s] ${message}\n`);

async function main(): Promise<void> {
  const started = Date.now();
  const loadBefore = os.loadavg()[0]!;
  const serverUrl = process.env.DATABASE_URL;
  const kind = serverUrl ? 'postgres' : 'pglite';
  const size = serverUrl ? POSTGRES_SIZE : PGLITE_SIZE;
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step().catch(() => undefined);
    cleanups.length = 0;
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));

  try {
    // 0. The API as `pnpm start` runs it: bundled first (fails fast, before the seeding).
    await Promise.all([buildApi(), buildFloors()]);
    log('built the API (apps/api/dist/main.js) and the floors (bench/dist/floor-server.js)');

    // 1. A fresh database, migrated and seeded.
    const now = new Date();
    const { seeded, rows } = makeSeed(size, now);
    let databaseUrl: string | undefined;
    let dataDir: string | undefined;
    let baselineDir: string | undefined;
    let serverVersion = '';
    let autovacuum: string | undefined;
    if (serverUrl) {
      const name = `fannotes_bench_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
      const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
      await admin.unsafe(`create database "${name}"`);
      serverVersion = (await admin.unsafe<{ server_version: string }[]>('show server_version'))[0]!
        .server_version;
      autovacuum = (await admin.unsafe<{ autovacuum: string }[]>('show autovacuum'))[0]!.autovacuum;
      await admin.end();
      cleanups.push(async () => {
        const dropper = postgres(serverUrl, { max: 1, onnotice: () => {} });
        await dropper.unsafe(`drop database if exists "${name}" with (force)`);
        await dropper.end();
      });
      const url = new URL(serverUrl);
      url.pathname = `/${name}`;
      databaseUrl = url.toString();
      log(`PostgreSQL ${serverVersion}: fresh database ${name} (dropped at the end)`);
      const handle = await openPostgres({ url: databaseUrl, maxConnections: 1 });
      await handle.close();
      const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
      await insertSeed((text, params) => sql.unsafe(text, params as never[]), rows);
      await sql.end();
    } else {
      log('DATABASE_URL is not set: running on the embedded database (PGlite), with a smaller data set');
      const temp = await mkdtemp(join(os.tmpdir(), 'fannotes-bench-'));
      cleanups.push(() => rm(temp, { recursive: true, force: true }));
      dataDir = join(temp, 'api');
      baselineDir = join(temp, 'baseline');
      const handle = await openPglite({ dataDir: join(dataDir, 'pglite') });
      await insertSeed((text, params) => handle.pglite.query(text, params), rows);
      serverVersion = String(
        (await handle.pglite.query<{ server_version: string }>('show server_version')).rows[0]
          ?.server_version,
      );
      await handle.close();
      // The baseline reads its own copy: one process per PGlite directory.
      await cp(join(dataDir, 'pglite'), baselineDir, { recursive: true });
    }
    log(
      `seeded ${seeded.fans.length} fans over ${size.accounts} accounts, ${seeded.noteCount} notes, ` +
        `${seeded.memberCount} memberships (${Math.round((Date.now() - started) / 1000)} s)`,
    );

    // Every run (warm-ups included) starts with a VACUUM of the database, untimed, as pgbench vacuums
    // before each of its runs. The pushes write thousands of row versions a second to the same fans
    // (`version` is indexed, so none is a HOT update); left for a later autovacuum, or for none (this
    // machine's server runs with autovacuum off), the dead versions and index entries of earlier runs
    // slow every later run's reads of those fans, API and baseline alike, the push of 100 most.
    // PGlite belongs to the servers' own processes: skipped there.
    const settleSql = databaseUrl ? postgres(databaseUrl, { max: 1, onnotice: () => {} }) : undefined;
    if (settleSql) cleanups.push(() => settleSql.end({ timeout: 5 }));
    const settled = async <T>(run: () => Promise<T>): Promise<T> => {
      if (settleSql) await settleSql.unsafe('vacuum');
      return run();
    };

    // 2. Tokens for the agency chatters, signed as Supabase would sign them.
    const secret = randomBytes(32).toString('base64url');
    const issuer = `${SUPABASE_URL}/auth/v1`;
    const tokens = await Promise.all(
      seeded.chatters.map((userId) => mintToken({ secret, issuer, userId, expiresInSec: 3600 })),
    );
    const scenarios = makeScenarios(seeded, tokens, CONNECTIONS);

    // 3. The floors (one process answers reads and pushes), up for the whole run. On PGlite, or with
    //    --old-baseline, the baseline of before issue 18 instead (a join, not prepared).
    const oldBaseline = flags['old-baseline'] || !databaseUrl;
    if (oldBaseline && flags['floor-stack'])
      throw new Error('--floor-stack needs the floors: DATABASE_URL, no --old-baseline');
    if (oldBaseline) log('comparing with the old baseline (old-baseline-server.ts), not the floors');
    const floor = await startServer(
      oldBaseline ? 'old-baseline' : 'floor',
      oldBaseline ? oldBaselineStartArgs : floorStartArgs,
      {
        cwd: benchDir,
        env: {
          PORT: '0',
          ...(databaseUrl ? { DATABASE_URL: databaseUrl } : { BASELINE_PGLITE_DIR: baselineDir! }),
          BENCH_COUNT: '1',
          ...(flags['floor-stack'] ? { FLOOR_STACK: '1' } : {}),
        },
      },
    );
    cleanups.push(() => floor.stop());

    const profileDir = join(benchDir, 'results', 'profiles');
    if (flags.profile) await mkdir(profileDir, { recursive: true });
    const peakRss: Record<string, number> = {};
    /** Each API process's RSS once started and settled, before any load. */
    const idleRss: Record<string, number> = {};
    const startApi = async (
      mode: ApiMode,
      counting: boolean,
      options: { name?: string; env?: Record<string, string> } = {},
    ): Promise<ServerProcess> => {
      const name = options.name ?? `api-${mode}${counting ? '-probe' : ''}`;
      const api = await startServer(
        name,
        [
          ...(flags.profile && !counting ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
          ...apiStartArgs,
        ],
        {
          cwd: apiDir,
          env: {
            NODE_ENV: 'production',
            PORT: '0',
            HOST: '127.0.0.1',
            SUPABASE_URL,
            SUPABASE_JWT_SECRET: secret,
            LOG_LEVEL: 'warn',
            SYNC_MIN_INTERVAL_MS: String(mode === 'throttled' ? THROTTLED_INTERVAL_MS : 0),
            SYNC_FORCE_FLOOR_MS: '0',
            // The load speaks for ten users at thousands of requests per second: keep the per-user
            // budget on (its bookkeeping is part of every request) but far above that.
            RATE_LIMIT_PER_MINUTE: '60000000',
            RATE_LIMIT_BURST: '1000000',
            ...(databaseUrl ? { DATABASE_URL: databaseUrl } : { DATA_DIR: dataDir! }),
            ...(counting ? { DB_QUERY_COUNT: '1' } : {}),
            ...API_ENV,
            ...options.env,
          },
        },
      );
      // Idle RSS: the lowest over 2 s after it listens, before any request (the two measured
      // processes; the others run the same code).
      if (!counting && options.name === undefined) {
        let lowest = Number.POSITIVE_INFINITY;
        for (let waited = 0; waited <= 2_000; waited += 250) {
          lowest = Math.min(lowest, api.rss());
          await sleep(250);
        }
        idleRss[name] = lowest / 2 ** 20;
      }
      return api;
    };
    let primed = false;
    /** One full sync of every fan: afterwards, on a throttled process, each call is a throttled read. */
    const prime = async (url: string) => {
      if (primed) return;
      log('priming: one full sync of every fan');
      await drive({
        url,
        scenario: primingScenario(
          seeded.fans.map((fan) => fan.fanId),
          tokens,
        ),
        target: 'api',
        connections: CONNECTIONS,
        amount: seeded.fans.length,
      });
      primed = true;
    };

    const reports: ScenarioReport[] = [];
    for (const mode of ['throttled', 'full'] as const) {
      const list = SCENARIO_ORDER.filter((name) => selected.includes(name) && scenarios[name]!.mode === mode);
      if (list.length === 0) continue;

      // Round trips, counted by the driver, one request at a time.
      const probes: Record<string, { api: ProbeResult; floor: ProbeResult }> = {};
      const probeApi = await startApi(mode, true);
      cleanups.push(() => probeApi.stop());
      if (mode === 'throttled') await prime(probeApi.url);
      for (const name of list) {
        const scenario = scenarios[name]!;
        probes[name] = {
          api: await probe({ url: probeApi.url, scenario, target: 'api', ...PROBE }),
          floor: await probe({ url: floor.url, scenario, target: 'floor', ...PROBE }),
        };
        log(
          `${name}: round trips api ${probes[name].api.roundTrips.join(',')} ` +
            `(statements ${probes[name].api.statements.join(',')}; first-use prepares ${probes[name].api.prepares.join(',')}; ` +
            `statuses ${probes[name].api.statuses.join(',')}), ` +
            `floor ${probes[name].floor.roundTrips.join(',')} (first-use prepares ${probes[name].floor.prepares.join(',')}; ` +
            `statuses ${probes[name].floor.statuses.join(',')})`,
        );
        const shapes = probes[name];
        // The floors answer with the API's keys (envelope, data, note), or the comparison is not fair.
        if (
          !oldBaseline &&
          shapes.api.shape !== shapes.floor.shape &&
          !shapes.floor.shape.endsWith('(no note)')
        )
          log(
            `${name}: WARNING the floor's answer differs in shape:\n  api   ${shapes.api.shape}\n  floor ${shapes.floor.shape}`,
          );
      }
      await probeApi.stop();

      // Throughput: A B A B, same duration and connections, medians.
      const api = await startApi(mode, false);
      cleanups.push(() => api.stop());
      for (const name of list) {
        const scenario = scenarios[name]!;
        const runs: { api: LoadResult[]; floor: LoadResult[] } = { api: [], floor: [] };
        const connections = scenario.connections ?? CONNECTIONS;
        // Each scenario's own peak RSS, for both servers (from what each holds when it starts).
        api.resetPeakRss();
        floor.resetPeakRss();
        const load = (url: string, target: 'api' | 'floor', durationSec: number) =>
          settled(() => drive({ url, scenario, target, connections, durationSec }));
        await load(api.url, 'api', 2);
        await load(floor.url, 'floor', 2);
        for (let round = 0; round < ROUNDS; round++) {
          runs.api.push(await load(api.url, 'api', DURATION));
          runs.floor.push(await load(floor.url, 'floor', DURATION));
          log(
            `${name} round ${round + 1}: api ${runs.api.at(-1)!.rps.toFixed(0)} rps ` +
              `(p99 ${runs.api.at(-1)!.p99} ms, non-2xx ${runs.api.at(-1)!.requests - runs.api.at(-1)!.ok}), ` +
              `floor ${runs.floor.at(-1)!.rps.toFixed(0)} rps (p99 ${runs.floor.at(-1)!.p99} ms)` +
              ` statuses api ${JSON.stringify(runs.api.at(-1)!.statusCodes)} floor ${JSON.stringify(runs.floor.at(-1)!.statusCodes)}`,
          );
        }
        // Latency at half of the API's measured maximum, open loop (pace, in load.ts), and the floor's
        // at the same rate (what p99 the machine allows for this answer at all), A B A B as above.
        const maxRps = median(runs.api.map((run) => run.rps));
        const rate = Math.max(1, Math.floor(maxRps / 2));
        const paced = (url: string, target: 'api' | 'floor') =>
          settled(() =>
            pace({ url, scenario, target, slots: connections, rate, durationSec: HALF_DURATION }),
          );
        const halfRuns: { api: LoadResult[]; floor: LoadResult[] } = { api: [], floor: [] };
        for (let round = 0; round < ROUNDS; round++) {
          halfRuns.api.push(await paced(api.url, 'api'));
          halfRuns.floor.push(await paced(floor.url, 'floor'));
          log(
            `${name} at ${rate} rps, round ${round + 1}: api p50 ${halfRuns.api.at(-1)!.p50} ms, ` +
              `p99 ${halfRuns.api.at(-1)!.p99} ms ${JSON.stringify(halfRuns.api.at(-1)!.statusCodes)}; ` +
              `floor p99 ${halfRuns.floor.at(-1)!.p99} ms`,
          );
        }
        const rss = { api: api.peakRss() / 2 ** 20, floor: floor.peakRss() / 2 ** 20 };
        peakRss[api.name] = Math.max(peakRss[api.name] ?? 0, rss.api);
        peakRss[floor.name] = Math.max(peakRss[floor.name] ?? 0, rss.floor);
        reports.push(summarise(scenario, runs, halfRuns, rate, probes[name]!, rss));
      }
      await api.stop();
    }

    // 4. Throttled reads on two API processes against one, A B A B A B.
    let twoProcesses: TwoProcessReport | undefined;
    if (selected.includes(TWO_PROCESSES)) {
      if (!databaseUrl) log('two-processes: skipped (two API processes need PostgreSQL: set DATABASE_URL)');
      else {
        twoProcesses = await runTwoProcesses({
          start: (name) => startApi('throttled', false, { name }),
          prime,
          scenario: scenarios['throttled-read']!,
          settled,
          cleanups,
        });
        peakRss['api-two-a'] = twoProcesses.peakRssMb;
      }
    }

    // 5. Live updates: two processes on one PostgreSQL database.
    let live: LiveReport | undefined;
    if (selected.includes(LIVE)) {
      if (!databaseUrl) log('live: skipped (two API processes need PostgreSQL: set DATABASE_URL)');
      else {
        const applicationName = 'fannotes-bench-live-a';
        const withName = new URL(databaseUrl);
        withName.searchParams.set('application_name', applicationName);
        const poolMax = 10;
        const a = await startApi('full', false, {
          name: 'api-live-a',
          env: { DATABASE_URL: withName.toString(), DB_POOL_MAX: String(poolMax) },
        });
        cleanups.push(() => a.stop());
        const b = await startApi('full', false, { name: 'api-live-b' });
        cleanups.push(() => b.stop());
        const off = await startApi('full', false, { name: 'api-live-off', env: { LIVE_UPDATES: '0' } });
        cleanups.push(() => off.stop());
        const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
        cleanups.push(() => admin.end({ timeout: 5 }));
        const push = scenarios['push-1']!;
        live = await runLive({
          a,
          b,
          off,
          applicationName,
          poolMax,
          admin,
          memberTokens: tokens,
          mint: (userId) => mintToken({ secret, issuer, userId, expiresInSec: 3600 }),
          fans: seeded.fans.filter((fan) => fan.kind === 'regular'),
          idleStreams: 2_000,
          writes: 200,
          push: (url) =>
            settled(() =>
              drive({ url, scenario: push, target: 'api', connections: CONNECTIONS, durationSec: DURATION }),
            ),
          rounds: ROUNDS,
          log,
        });
        peakRss[a.name] = a.peakRss() / 2 ** 20;
        await Promise.all([a.stop(), b.stop(), off.stop()]);
      }
    }

    // 6. sync-core on its own.
    log('sync-core micro-benchmark');
    const micro = runMicro();

    const report: BenchReport = {
      date: new Date().toISOString(),
      command: `${serverUrl ? 'DATABASE_URL=<server> ' : ''}pnpm bench${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
      machine: {
        cpu: os.cpus()[0]?.model ?? 'unknown',
        cores: os.cpus().length,
        memoryGb: Math.round(os.totalmem() / 2 ** 30),
        os: `${os.type()} ${os.release()}`,
        node: process.version,
      },
      database: {
        kind,
        version: serverVersion,
        ...(autovacuum ? { autovacuum } : {}),
        vacuumedBeforeEachRun: settleSql !== undefined,
      },
      seed: {
        accounts: size.accounts,
        fans: seeded.fans.length,
        notes: seeded.noteCount,
        memberships: seeded.memberCount,
        description:
          `${size.accounts} accounts x ${size.fansPerAccount} fans with 0-${size.maxNotesPerFan} notes ` +
          `(10% deleted, 20% from OnlyFans), ${size.push100Fans} fans with 100 notes, ` +
          `${size.coldFans} cold fans with ${size.coldNotes} notes; ${5 + size.agencyChatters} members per account`,
      },
      settings: {
        durationSec: DURATION,
        halfLoadDurationSec: HALF_DURATION,
        rounds: ROUNDS,
        connections: CONNECTIONS,
        comparedWith: oldBaseline ? 'old-baseline' : flags['floor-stack'] ? 'floors-behind-stack' : 'floors',
      },
      scenarios: reports,
      peakRssMb: peakRss,
      idleRssMb: idleRss,
      ...(twoProcesses ? { twoProcesses } : {}),
      micro,
      elapsedSec: (Date.now() - started) / 1000,
      // Everything here shares two cores: a busy machine (another build or test run) lowers every number.
      loadAverage: { before: loadBefore, after: os.loadavg()[0]! },
      ...(live ? { live } : {}),
    };
    process.stdout.write(`${renderReport(report)}\n`);
    if (!flags['no-write'] && !flags['floor-stack']) {
      const file = await writeReport(report);
      log(`results: ${file}; table: docs/PERFORMANCE.md`);
    }
    log(`done in ${Math.round(report.elapsedSec)} s`);
  } finally {
    await cleanup();
  }
}

function summarise(
  scenario: Scenario,
  runs: { api: LoadResult[]; floor: LoadResult[] },
  half: { api: LoadResult[]; floor: LoadResult[] },
  rate: number,
  probes: { api: ProbeResult; floor: ProbeResult },
  peakRssMb: { api: number; floor: number },
): ScenarioReport {
  const side = (list: LoadResult[]) => ({
    rps: median(list.map((run) => run.rps)),
    p50: median(list.map((run) => run.p50)),
    p99: median(list.map((run) => run.p99)),
    conflicts: list.reduce((sum, run) => sum + run.conflicts, 0),
    failures: list.reduce((sum, run) => sum + run.failures, 0),
    runs: list,
  });
  const api = side(runs.api);
  const floor = side(runs.floor);
  // Each round's ratio (its API run against the floor's run right after it), then their median: a
  // machine that slows down between rounds moves both sides of a round alike.
  const roundRatios = runs.api.map((run, i) => (runs.floor[i]!.rps > 0 ? run.rps / runs.floor[i]!.rps : 0));
  return {
    name: scenario.name,
    title: scenario.title,
    floorKind: scenario.floor,
    floorQuery: scenario.floorQuery,
    api,
    floor,
    ratio: median(roundRatios),
    roundRatios,
    halfLoad: {
      rate,
      p50: median(half.api.map((run) => run.p50)),
      p99: median(half.api.map((run) => run.p99)),
      conflicts: half.api.reduce((sum, run) => sum + run.conflicts, 0),
      failures: half.api.reduce((sum, run) => sum + run.failures, 0),
      floorP99: median(half.floor.map((run) => run.p99)),
      runs: { api: half.api, floor: half.floor },
    },
    roundTrips: {
      api: steadyRoundTrips(probes.api),
      apiStatements: { median: median(probes.api.statements), max: Math.max(...probes.api.statements) },
      floor: steadyRoundTrips(probes.floor),
      firstUsePrepares: { api: sum(probes.api.prepares), floor: sum(probes.floor.prepares) },
      probeStatuses: probes.api.statuses,
    },
    peakRssMb,
  };
}

/**
 * Throttled reads on two API processes against one, A B A B A B, each round's ratio, their median.
 * One: one process, 10 connections. Two: two processes, 5 connections each, driven at once by two
 * autocannon instances of this process, summed. The split is by connection, as an L4 balancer (or
 * Node's cluster module) splits: no proxy runs, so what is measured is the API processes, not a
 * proxy's CPU on the same two cores.
 */
async function runTwoProcesses(options: {
  start: (name: string) => Promise<ServerProcess>;
  prime: (url: string) => Promise<void>;
  scenario: Scenario;
  settled: <T>(run: () => Promise<T>) => Promise<T>;
  cleanups: (() => Promise<void>)[];
}): Promise<TwoProcessReport> {
  const a = await options.start('api-two-a');
  options.cleanups.push(() => a.stop());
  const b = await options.start('api-two-b');
  options.cleanups.push(() => b.stop());
  await options.prime(a.url);
  const { scenario, settled } = options;
  const half = Math.max(1, Math.floor(CONNECTIONS / 2));
  const one = (durationSec: number) =>
    settled(() => drive({ url: a.url, scenario, target: 'api', connections: CONNECTIONS, durationSec }));
  const two = (durationSec: number) =>
    settled(async () => {
      const [first, second] = await Promise.all([
        drive({ url: a.url, scenario, target: 'api', connections: half, durationSec }),
        drive({ url: b.url, scenario, target: 'api', connections: half, durationSec, firstSlot: half }),
      ]);
      return {
        rps: first.rps + second.rps,
        p99: Math.max(first.p99, second.p99),
        failures: first.failures + second.failures,
      };
    });
  await one(2);
  await two(2);
  a.resetPeakRss();
  const oneRps: number[] = [];
  const twoRps: number[] = [];
  let failures = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const single = await one(DURATION);
    const pair = await two(DURATION);
    oneRps.push(single.rps);
    twoRps.push(pair.rps);
    failures += single.failures + pair.failures;
    log(
      `two-processes round ${round + 1}: one ${single.rps.toFixed(0)} rps (p99 ${single.p99} ms), ` +
        `two ${pair.rps.toFixed(0)} rps (p99 ${pair.p99} ms)`,
    );
  }
  const peakRssMb = a.peakRss() / 2 ** 20;
  await Promise.all([a.stop(), b.stop()]);
  const ratios = oneRps.map((rps, i) => (rps > 0 ? twoRps[i]! / rps : 0));
  return {
    oneRps,
    twoRps,
    one: median(oneRps),
    two: median(twoRps),
    ratio: median(ratios),
    roundRatios: ratios,
    failures,
    peakRssMb,
    cores: os.cpus().length,
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Each probed request's round trips without its first-use prepares (a statement's first use on a
 * pooled connection prepares it there, once per connection: not what the request costs from then on).
 */
function steadyRoundTrips(probe: ProbeResult): { median: number; max: number } {
  const steady = probe.roundTrips.map((trips, i) => trips - (probe.prepares[i] ?? 0));
  return { median: median(steady), max: Math.max(...steady) };
}

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

/** One request per fan, each fan once. */
function primingScenario(fanIds: string[], tokens: string[]): Scenario {
  let next = 0;
  return {
    name: 'priming',
    title: 'priming',
    mode: 'throttled',
    floor: 'read',
    floorQuery: '',
    next: (slot) => ({
      token: tokens[slot % tokens.length]!,
      body: JSON.stringify({ fanId: fanIds[next++ % fanIds.length] }),
    }),
  };
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
