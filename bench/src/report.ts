import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { format, resolveConfig } from 'prettier';
import type { LiveReport } from './live.ts';
import { join } from 'node:path';
import type { LoadResult } from './load.ts';
import type { MicroResult } from './micro.ts';
import { benchDir, repoRoot } from './processes.ts';

interface Side {
  rps: number;
  p50: number;
  p99: number;
  conflicts: number;
  failures: number;
  runs: LoadResult[];
}

export interface ScenarioReport {
  name: string;
  title: string;
  /** The floor it is compared with: the read floor (floor-read.ts) or the write floor (floor-write.ts). */
  floorKind: 'read' | 'write';
  floorQuery: string;
  api: Side;
  floor: Side;
  /** The median of the rounds' ratios (each round: ours, then the floor's run right after). */
  ratio: number;
  roundRatios: number[];
  /**
   * Ours at half its measured maximum, open loop (load.ts, `pace`), and the floor at that same rate
   * for scale: medians over the rounds.
   */
  halfLoad: {
    rate: number;
    p50: number;
    p99: number;
    conflicts: number;
    failures: number;
    floorP99: number;
    runs: { api: LoadResult[]; floor: LoadResult[] };
  };
  roundTrips: {
    api: { median: number; max: number };
    apiStatements: { median: number; max: number };
    floor: { median: number; max: number };
    /** Prepares at a statement's first use on a connection, among the probed requests (not counted above). */
    firstUsePrepares: { api: number; floor: number };
    probeStatuses: number[];
  };
  /** The high-water mark of each server's RSS during this scenario's runs (VmHWM, reset before). */
  peakRssMb: { api: number; floor: number };
}

/** Throttled reads on two API processes (5 connections each) against one (10), A B A B A B. */
export interface TwoProcessReport {
  oneRps: number[];
  twoRps: number[];
  one: number;
  two: number;
  /** The median of the rounds' ratios. */
  ratio: number;
  roundRatios: number[];
  failures: number;
  peakRssMb: number;
  cores: number;
}

export interface BenchReport {
  date: string;
  command: string;
  machine: { cpu: string; cores: number; memoryGb: number; os: string; node: string };
  database: {
    kind: 'postgres' | 'pglite';
    version: string;
    /** The server's `autovacuum` setting (PostgreSQL only). */
    autovacuum?: string;
    /** Whether each measured run started with a VACUUM of the bench's database (PostgreSQL only). */
    vacuumedBeforeEachRun?: boolean;
  };
  seed: { accounts: number; fans: number; notes: number; memberships: number; description: string };
  settings: {
    durationSec: number;
    halfLoadDurationSec: number;
    rounds: number;
    connections: number;
    /**
     * The floors (floor-server.ts); the floors behind Fastify and tRPC (`--floor-stack`, floor-stack.ts);
     * or the baseline of before issue 18 (`--old-baseline`, PGlite).
     */
    comparedWith: 'floors' | 'floors-behind-stack' | 'old-baseline';
  };
  scenarios: ScenarioReport[];
  /** Per process over the whole run: `api-throttled`, `api-full`, `floor`, ... */
  peakRssMb: Record<string, number>;
  /** Each API process's RSS once started, before any load. */
  idleRssMb: Record<string, number>;
  twoProcesses?: TwoProcessReport;
  micro: MicroResult[];
  elapsedSec: number;
  loadAverage: { before: number; after: number };
  /** Live updates (live.ts): PostgreSQL only, when the `live` scenario ran. */
  live?: LiveReport;
  targets?: TargetResult[];
}

export interface TargetResult {
  target: string;
  value: string;
  met: boolean;
}

/** Issue 18's targets: each scenario against its floor (ratios of one run, medians of the rounds). */
const RATIO_TARGETS: Record<string, number> = {
  'throttled-read': 0.75,
  'delta-pull': 0.75,
  'full-sync': 0.6,
  'push-1': 0.6,
  'push-100': 0.5,
};
/** Database round trips per request, counted by the driver. */
const ROUND_TRIP_TARGETS: Record<string, number> = { 'throttled-read': 1, 'delta-pull': 1 };
const HALF_LOAD_P99_MS = 50;
const PEAK_RSS_MB = 200;
const IDLE_RSS_MB = 80;
const TWO_PROCESS_RATIO = 1.6;

export function evaluateTargets(report: BenchReport): TargetResult[] {
  const out: TargetResult[] = [];
  const byName = new Map(report.scenarios.map((scenario) => [scenario.name, scenario]));
  const against = {
    floors: '',
    'floors-behind-stack': ' (against the floors behind Fastify and tRPC: not the target)',
    'old-baseline': ' (against the OLD baseline: not the target)',
  }[report.settings.comparedWith];
  for (const [name, target] of Object.entries(RATIO_TARGETS)) {
    const scenario = byName.get(name);
    if (!scenario) continue;
    out.push({
      target: `${scenario.title}: >= ${target}x the ${scenario.floorKind} floor${against}`,
      value: `${scenario.ratio.toFixed(2)}x (rounds ${scenario.roundRatios.map((r) => r.toFixed(2)).join(', ')})`,
      met: scenario.ratio >= target,
    });
  }
  for (const [name, target] of Object.entries(ROUND_TRIP_TARGETS)) {
    const scenario = byName.get(name);
    if (!scenario) continue;
    out.push({
      target: `${scenario.title}: ${target} database round trip${target === 1 ? '' : 's'}`,
      value: `${scenario.roundTrips.api.max} (${scenario.roundTrips.apiStatements.max} statements)`,
      met: scenario.roundTrips.api.max <= target,
    });
  }
  for (const scenario of report.scenarios) {
    out.push({
      target: `${scenario.title}: p99 < ${HALF_LOAD_P99_MS} ms at half the measured maximum (${scenario.halfLoad.rate} req/s)`,
      value:
        `${ms(scenario.halfLoad.p99)} ms (rounds ${scenario.halfLoad.runs.api.map((run) => ms(run.p99)).join(', ')}; ` +
        `floor ${ms(scenario.halfLoad.floorP99)} ms)`,
      met: scenario.halfLoad.p99 < HALF_LOAD_P99_MS,
    });
  }
  for (const scenario of report.scenarios) {
    out.push({
      target: `${scenario.title}: peak RSS of the API < ${PEAK_RSS_MB} MB`,
      value: `${scenario.peakRssMb.api.toFixed(0)} MB (floor ${scenario.peakRssMb.floor.toFixed(0)} MB)`,
      met: scenario.peakRssMb.api < PEAK_RSS_MB,
    });
  }
  const idle = Object.entries(report.idleRssMb);
  if (idle.length > 0) {
    const highest = Math.max(...idle.map(([, mb]) => mb));
    out.push({
      target: `idle RSS of an API process < ${IDLE_RSS_MB} MB (once started, before any load)`,
      value: idle.map(([name, mb]) => `${name} ${mb.toFixed(0)}`).join(', ') + ' MB',
      met: highest < IDLE_RSS_MB,
    });
  }
  const two = report.twoProcesses;
  if (two) {
    out.push({
      target: `two API processes >= ${TWO_PROCESS_RATIO}x one on throttled reads (${two.cores} cores for both, PostgreSQL and the load)`,
      value:
        `${two.ratio.toFixed(2)}x (rounds ${two.roundRatios.map((r) => r.toFixed(2)).join(', ')}; ` +
        `medians ${fmt(two.two)} / ${fmt(two.one)} req/s)`,
      met: two.ratio >= TWO_PROCESS_RATIO,
    });
  }
  if (report.live) out.push(...liveTargets(report.live));
  const micro = report.micro.find((result) => result.name === 'merge-and-plan');
  if (micro) {
    out.push({
      target: 'sync-core: merge and plan of 10,000 notes < 20 ms',
      value: `${micro.medianMs.toFixed(1)} ms`,
      met: micro.medianMs < 20,
    });
  }
  return out;
}

/** Issue 15's targets for live updates. */
function liveTargets(live: LiveReport): TargetResult[] {
  const { idle, pokes, push, fanOut } = live;
  return [
    {
      target: `live: a REST write on process A reaches a subscriber of process B: p95 <= 50 ms, none missed (${pokes.writes} writes)`,
      value:
        `p50 ${ms(pokes.fromSendMs.p50)} / p95 ${ms(pokes.fromSendMs.p95)} ms from sending the write ` +
        `(${ms(pokes.fromAnswerMs.p50)} / ${ms(pokes.fromAnswerMs.p95)} ms from its answer), ${pokes.missed} missed`,
      met: pokes.fromSendMs.p95 <= 50 && pokes.missed === 0,
    },
    {
      target: `live: ${idle.streams.toLocaleString('en')} idle streams on one process: <= 64 MB more RSS`,
      value: `+${idle.addedMb.toFixed(1)} MB (${idle.rssBeforeMb.toFixed(0)} -> ${idle.rssAfterMb.toFixed(0)} MB)`,
      met: idle.addedMb <= 64,
    },
    {
      target: `live: the streams hold no database connection (pool of ${idle.poolMax}, plus 1 listener)`,
      value: `pool ${idle.connectionsBefore.pool} -> ${idle.connectionsAfter.pool}, listening ${idle.connectionsAfter.listening}`,
      met: idle.connectionsAfter.pool <= idle.poolMax && idle.connectionsAfter.listening === 1,
    },
    {
      target: 'live: push of 1 mutation with live updates on >= 0.95x off (LIVE_UPDATES=0)',
      value:
        `${push.ratio.toFixed(3)}x, the median of each round's ratio (medians ${fmt(push.on)} / ${fmt(push.off)} ` +
        `req/s; rounds on ${push.onRps.map(fmt).join(', ')}, off ${push.offRps.map(fmt).join(', ')})`,
      met: push.ratio >= 0.95,
    },
    {
      target: `live, for the record: the same with ${fanOut.members} more streams hearing every push (no target)`,
      value: `${fanOut.ratio.toFixed(3)}x (${fmt(fanOut.on)} / ${fmt(fanOut.off)} req/s)`,
      met: true,
    },
  ];
}

const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
/** Milliseconds to 0.1 (medians of two runs are halves of sums). */
const ms = (n: number) => String(Math.round(n * 10) / 10);

/** The markdown section docs/PERFORMANCE.md quotes: machine, date, database, command, tables. */
export function renderReport(report: BenchReport): string {
  report.targets = evaluateTargets(report);
  const { comparedWith } = report.settings;
  const floors = comparedWith !== 'old-baseline';
  const floorName = { floors: 'floor', 'floors-behind-stack': 'stack floor', 'old-baseline': 'old baseline' }[
    comparedWith
  ];
  const lines = [
    `Run ${report.date.slice(0, 16).replace('T', ' ')} UTC on ${report.machine.cpu} (${report.machine.cores} cores, ` +
      `${report.machine.memoryGb} GB), ${report.machine.os}, Node ${report.machine.node}; ` +
      `database: ${report.database.kind === 'postgres' ? `PostgreSQL ${report.database.version}` : `embedded PGlite (PostgreSQL ${report.database.version})`}, ` +
      `fresh and seeded with ${report.seed.description} (${report.seed.notes.toLocaleString('en')} notes)` +
      (report.database.vacuumedBeforeEachRun
        ? `, vacuumed before each run (the server's autovacuum: ${report.database.autovacuum ?? 'unknown'}). `
        : '. ') +
      `Compared with ${
        {
          floors:
            'the floors (bench/src/floor-server.ts: floor-read.ts for reads, floor-write.ts for pushes)',
          'floors-behind-stack':
            'the floors behind Fastify and tRPC (bench/src/floor-stack.ts: what that stack costs alone), not the bare floors',
          'old-baseline':
            'the OLD baseline (bench/src/old-baseline-server.ts: a join, not prepared), not the floors',
        }[comparedWith]
      }. ` +
      `Each full-load run ${report.settings.durationSec} s, each half-load run ${report.settings.halfLoadDurationSec} s, over ${report.settings.connections} connections, ` +
      `${report.settings.rounds} rounds alternating API and ${floorName} (A B A B A B); the ratio is the median of the rounds' ratios, other figures medians of the rounds; whole run ${Math.round(report.elapsedSec)} s; ` +
      `1-minute load average ${report.loadAverage.before.toFixed(1)} before, ${report.loadAverage.after.toFixed(1)} after.`,
    '',
    `Reproduce: \`${report.command}\``,
    '',
    `| scenario | compared with | ours req/s | ${floorName} req/s | ours / ${floorName} | ours p50 / p99 ms | ${floorName} p50 / p99 ms | p99 at half load (${floorName} at that rate) | DB round trips ours (statements) | ${floorName} | peak RSS MB ours / ${floorName} | 409 / failed |`,
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const s of report.scenarios) {
    lines.push(
      `| ${s.title} | ${floors ? `${s.floorKind} ${floorName}` : 'old baseline'} | ${fmt(s.api.rps)} | ${fmt(s.floor.rps)} | ${s.ratio.toFixed(2)}x | ` +
        `${ms(s.api.p50)} / ${ms(s.api.p99)} | ${ms(s.floor.p50)} / ${ms(s.floor.p99)} | ` +
        `${ms(s.halfLoad.p99)} ms at ${s.halfLoad.rate} req/s (${ms(s.halfLoad.floorP99)} ms) | ${s.roundTrips.api.max} (${s.roundTrips.apiStatements.max}) | ` +
        `${s.roundTrips.floor.max} | ${s.peakRssMb.api.toFixed(0)} / ${s.peakRssMb.floor.toFixed(0)} | ` +
        `${s.api.conflicts + s.halfLoad.conflicts} / ${s.api.failures + s.halfLoad.failures} |`,
    );
  }
  const two = report.twoProcesses;
  if (two) {
    lines.push(
      '',
      `Two API processes (5 connections each) against one (10 connections), throttled reads: ` +
        `${fmt(two.two)} against ${fmt(two.one)} req/s, ${two.ratio.toFixed(2)}x ` +
        `(rounds ${two.roundRatios.map((r) => r.toFixed(2)).join(', ')}; ${two.failures} failed), ` +
        `on ${two.cores} cores shared with PostgreSQL and the load generator.`,
    );
  }
  lines.push('', '| target | measured | met |', '| --- | ---: | :---: |');
  for (const t of report.targets) lines.push(`| ${t.target} | ${t.value} | ${t.met ? 'yes' : '**no**'} |`);
  lines.push('', '| sync-core micro-benchmark | median ms | slowest ms |', '| --- | ---: | ---: |');
  for (const m of report.micro) {
    lines.push(`| ${m.name}: ${m.what} | ${m.medianMs.toFixed(2)} | ${m.maxMs.toFixed(2)} |`);
  }
  lines.push(
    '',
    `Peak RSS (VmHWM) of each process over its scenarios: ${Object.entries(report.peakRssMb)
      .map(([name, mb]) => `${name} ${mb.toFixed(0)} MB`)
      .join(', ')}. Idle RSS of each API process once started: ${Object.entries(report.idleRssMb)
      .map(([name, mb]) => `${name} ${mb.toFixed(0)} MB`)
      .join(', ')}.`,
  );
  return lines.join('\n');
}

const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';

/** Writes bench/results/<timestamp>.json and replaces the generated section of docs/PERFORMANCE.md. */
export async function writeReport(report: BenchReport): Promise<string> {
  const dir = join(benchDir, 'results');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${report.date.replace(/[:.]/g, '-')}.json`);
  const table = renderReport(report);
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  const docPath = join(repoRoot, 'docs', 'PERFORMANCE.md');
  let doc: string;
  try {
    doc = await readFile(docPath, 'utf8');
  } catch {
    doc = `# Performance\n\n${START}\n${END}\n`;
  }
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  const section = `${START}\n\n${table}\n\n${END}`;
  doc =
    start >= 0 && end > start
      ? doc.slice(0, start) + section + doc.slice(end + END.length)
      : `${doc}\n${section}\n`;
  // Formatted as `pnpm format` would (aligned tables), so the written page passes `format:check`.
  const options = await resolveConfig(docPath);
  await writeFile(docPath, await format(doc, { ...options, filepath: docPath }));
  return file;
}
