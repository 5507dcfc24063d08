/**
 * `pnpm bench`: our API against the one-query floor, on one machine and one database, in one run.
 * See docs/PERFORMANCE.md for what each scenario does and what the numbers mean.
 *
 * Flags: --duration <s> per run (default 6), --rounds <n> A/B rounds (default 3: the median of three
 * is not moved by one stalled round, the median of two is), --connections <n> (default 10),
 * --only <scenario,...>, --profile (API processes write --cpu-prof profiles to
 * bench/results/profiles/), --no-write (print only).
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
  baselineStartArgs,
  benchDir,
  buildApi,
  buildBaseline,
  startServer,
  type ServerProcess,
} from './processes.ts';
import { renderReport, writeReport, type BenchReport, type ScenarioReport } from './report.ts';
import { makeScenarios, type ApiMode, type Scenario } from './scenarios.ts';
import { insertSeed, makeSeed, PGLITE_SIZE, POSTGRES_SIZE } from './seed.ts';

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
    only: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
  },
});
const DURATION = Number(flags.duration);
const ROUNDS = Number(flags.rounds);
const CONNECTIONS = Number(flags.connections);
const SCENARIO_ORDER = ['throttled-read', 'delta-pull', 'full-sync', 'push-1', 'push-100', 'cold-fan'];
/** Live updates (live.ts): two API processes, so PostgreSQL only. */
const LIVE = 'live';
const selected = flags.only ? flags.only.split(',') : [...SCENARIO_ORDER, LIVE];
const SUPABASE_URL = 'http://127.0.0.1:54321';
const THROTTLED_INTERVAL_MS = 600_000;

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

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
    await Promise.all([buildApi(), buildBaseline()]);
    log('built the API (apps/api/dist/main.js) and the baseline (bench/dist/baseline-server.js)');

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

    // 3. The baseline, up for the whole run.
    const baselineEnv = (count: boolean): Record<string, string> => ({
      PORT: '0',
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : { BASELINE_PGLITE_DIR: baselineDir! }),
      ...(count ? { BENCH_COUNT: '1' } : {}),
    });
    const baseline = await startServer('baseline', baselineStartArgs, {
      cwd: benchDir,
      env: baselineEnv(true),
    });
    cleanups.push(() => baseline.stop());

    const profileDir = join(benchDir, 'results', 'profiles');
    if (flags.profile) await mkdir(profileDir, { recursive: true });
    const peakRss: Record<string, number> = {};
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
            ...options.env,
          },
        },
      );
      return api;
    };

    const reports: ScenarioReport[] = [];
    for (const mode of ['throttled', 'full'] as const) {
      const list = SCENARIO_ORDER.filter((name) => selected.includes(name) && scenarios[name]!.mode === mode);
      if (list.length === 0) continue;

      // Round trips, counted by the driver, one request at a time.
      const probes: Record<string, { api: ProbeResult; baseline: ProbeResult }> = {};
      const probeApi = await startApi(mode, true);
      cleanups.push(() => probeApi.stop());
      if (mode === 'throttled') {
        // One full sync of every fan first: afterwards calls within the interval are throttled reads.
        log('priming: one full sync of every fan');
        await drive({
          url: probeApi.url,
          scenario: primingScenario(
            seeded.fans.map((fan) => fan.fanId),
            tokens,
          ),
          target: 'api',
          connections: CONNECTIONS,
          amount: seeded.fans.length,
        });
      }
      for (const name of list) {
        const scenario = scenarios[name]!;
        probes[name] = {
          api: await probe({ url: probeApi.url, scenario, target: 'api', count: 10, warmup: 5 }),
          baseline: await probe({ url: baseline.url, scenario, target: 'baseline', count: 10, warmup: 5 }),
        };
        log(
          `${name}: round trips api ${probes[name].api.roundTrips.join(',')} ` +
            `(statements ${probes[name].api.statements.join(',')}; statuses ${probes[name].api.statuses.join(',')}), ` +
            `baseline ${probes[name].baseline.roundTrips.join(',')}`,
        );
      }
      await probeApi.stop();

      // Throughput: A B A B, same duration and connections, medians.
      const api = await startApi(mode, false);
      cleanups.push(() => api.stop());
      for (const name of list) {
        const scenario = scenarios[name]!;
        const runs: { api: LoadResult[]; baseline: LoadResult[] } = { api: [], baseline: [] };
        const connections = scenario.connections ?? CONNECTIONS;
        // Each scenario's own peak RSS, for both servers (from what each holds when it starts).
        api.resetPeakRss();
        baseline.resetPeakRss();
        const load = (url: string, target: 'api' | 'baseline', durationSec: number) =>
          settled(() => drive({ url, scenario, target, connections, durationSec }));
        await load(api.url, 'api', 2);
        await load(baseline.url, 'baseline', 2);
        for (let round = 0; round < ROUNDS; round++) {
          runs.api.push(await load(api.url, 'api', DURATION));
          runs.baseline.push(await load(baseline.url, 'baseline', DURATION));
          log(
            `${name} round ${round + 1}: api ${runs.api.at(-1)!.rps.toFixed(0)} rps ` +
              `(p99 ${runs.api.at(-1)!.p99} ms, non-2xx ${runs.api.at(-1)!.requests - runs.api.at(-1)!.ok}), ` +
              `baseline ${runs.baseline.at(-1)!.rps.toFixed(0)} rps (p99 ${runs.baseline.at(-1)!.p99} ms)` +
              ` statuses api ${JSON.stringify(runs.api.at(-1)!.statusCodes)} baseline ${JSON.stringify(runs.baseline.at(-1)!.statusCodes)}`,
          );
        }
        // Latency at half of the API's measured maximum, open loop (pace, in load.ts), and the floor's
        // at the same rate (what p99 the machine allows for this answer at all), A B A B as above.
        const maxRps = median(runs.api.map((run) => run.rps));
        const rate = Math.max(1, Math.floor(maxRps / 2));
        const paced = (url: string, target: 'api' | 'baseline') =>
          settled(() => pace({ url, scenario, target, slots: connections, rate, durationSec: DURATION }));
        const halfRuns: { api: LoadResult[]; baseline: LoadResult[] } = { api: [], baseline: [] };
        for (let round = 0; round < ROUNDS; round++) {
          halfRuns.api.push(await paced(api.url, 'api'));
          halfRuns.baseline.push(await paced(baseline.url, 'baseline'));
          log(
            `${name} at ${rate} rps, round ${round + 1}: api p50 ${halfRuns.api.at(-1)!.p50} ms, ` +
              `p99 ${halfRuns.api.at(-1)!.p99} ms ${JSON.stringify(halfRuns.api.at(-1)!.statusCodes)}; ` +
              `baseline p99 ${halfRuns.baseline.at(-1)!.p99} ms`,
          );
        }
        const rss = { api: api.peakRss() / 2 ** 20, baseline: baseline.peakRss() / 2 ** 20 };
        peakRss[api.name] = Math.max(peakRss[api.name] ?? 0, rss.api);
        peakRss.baseline = Math.max(peakRss.baseline ?? 0, rss.baseline);
        reports.push(summarise(scenario, runs, halfRuns, rate, probes[name]!, rss));
      }
      await api.stop();
    }

    // 4. Live updates: two processes on one PostgreSQL database.
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

    // 5. sync-core on its own.
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
      settings: { durationSec: DURATION, rounds: ROUNDS, connections: CONNECTIONS },
      scenarios: reports,
      peakRssMb: peakRss,
      micro,
      elapsedSec: (Date.now() - started) / 1000,
      // Everything here shares two cores: a busy machine (another build or test run) lowers every number.
      loadAverage: { before: loadBefore, after: os.loadavg()[0]! },
      ...(live ? { live } : {}),
    };
    process.stdout.write(`${renderReport(report)}\n`);
    if (!flags['no-write']) {
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
  runs: { api: LoadResult[]; baseline: LoadResult[] },
  half: { api: LoadResult[]; baseline: LoadResult[] },
  rate: number,
  probes: { api: ProbeResult; baseline: ProbeResult },
  peakRssMb: { api: number; baseline: number },
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
  const baseline = side(runs.baseline);
  return {
    name: scenario.name,
    title: scenario.title,
    baselineQuery: scenario.baselineQuery,
    api,
    baseline,
    ratio: baseline.rps > 0 ? api.rps / baseline.rps : 0,
    halfLoad: {
      rate,
      p50: median(half.api.map((run) => run.p50)),
      p99: median(half.api.map((run) => run.p99)),
      conflicts: half.api.reduce((sum, run) => sum + run.conflicts, 0),
      failures: half.api.reduce((sum, run) => sum + run.failures, 0),
      baselineP99: median(half.baseline.map((run) => run.p99)),
      runs: { api: half.api, baseline: half.baseline },
    },
    roundTrips: {
      api: { median: median(probes.api.roundTrips), max: Math.max(...probes.api.roundTrips) },
      apiStatements: { median: median(probes.api.statements), max: Math.max(...probes.api.statements) },
      baseline: { median: median(probes.baseline.roundTrips), max: Math.max(...probes.baseline.roundTrips) },
      probeStatuses: probes.api.statuses,
    },
    peakRssMb,
  };
}

/** One request per fan, each fan once. */
function primingScenario(fanIds: string[], tokens: string[]): Scenario {
  let next = 0;
  return {
    name: 'priming',
    title: 'priming',
    mode: 'throttled',
    baselineQuery: '',
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
