import { readFile, writeFile, mkdir } from 'node:fs/promises';
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
  baselineQuery: string;
  api: Side;
  baseline: Side;
  ratio: number;
  /**
   * Ours at half its measured maximum, open loop (load.ts, `pace`), and the baseline at that same rate
   * for scale: medians over the rounds.
   */
  halfLoad: {
    rate: number;
    p50: number;
    p99: number;
    conflicts: number;
    failures: number;
    baselineP99: number;
    runs: { api: LoadResult[]; baseline: LoadResult[] };
  };
  roundTrips: {
    api: { median: number; max: number };
    apiStatements: { median: number; max: number };
    baseline: { median: number; max: number };
    probeStatuses: number[];
  };
  /** The high-water mark of each server's RSS during this scenario's runs (VmHWM, reset before). */
  peakRssMb: { api: number; baseline: number };
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
  settings: { durationSec: number; rounds: number; connections: number };
  scenarios: ScenarioReport[];
  /** Per process over the whole run: `api-throttled`, `api-full`, `baseline`. */
  peakRssMb: Record<string, number>;
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

const RATIO_TARGETS: Record<string, number> = { 'throttled-read': 0.6, 'full-sync': 0.4, 'push-1': 0.3 };
const ROUND_TRIP_TARGETS: Record<string, number> = { 'throttled-read': 2, 'push-1': 6, 'push-100': 6 };

export function evaluateTargets(report: BenchReport): TargetResult[] {
  const out: TargetResult[] = [];
  const byName = new Map(report.scenarios.map((scenario) => [scenario.name, scenario]));
  for (const [name, target] of Object.entries(RATIO_TARGETS)) {
    const scenario = byName.get(name);
    if (!scenario) continue;
    out.push({
      target: `${scenario.title}: >= ${target}x the baseline's requests per second`,
      value: `${scenario.ratio.toFixed(2)}x`,
      met: scenario.ratio >= target,
    });
  }
  for (const [name, target] of Object.entries(ROUND_TRIP_TARGETS)) {
    const scenario = byName.get(name);
    if (!scenario) continue;
    out.push({
      target: `${scenario.title}: <= ${target} database round trips`,
      value: `${scenario.roundTrips.api.max}`,
      met: scenario.roundTrips.api.max <= target,
    });
  }
  for (const scenario of report.scenarios) {
    out.push({
      target: `${scenario.title}: p99 < 50 ms at half the measured maximum (${scenario.halfLoad.rate} rps)`,
      value:
        `${ms(scenario.halfLoad.p99)} ms (rounds ${scenario.halfLoad.runs.api.map((run) => ms(run.p99)).join(', ')}; ` +
        `baseline ${ms(scenario.halfLoad.baselineP99)} ms)`,
      met: scenario.halfLoad.p99 < 50,
    });
  }
  const heaviest = [...report.scenarios].sort((a, b) => b.peakRssMb.api - a.peakRssMb.api)[0];
  if (heaviest) {
    out.push({
      target: `peak RSS of the API under load < 200 MB (highest: ${heaviest.title})`,
      value: `${heaviest.peakRssMb.api.toFixed(0)} MB (baseline ${heaviest.peakRssMb.baseline.toFixed(0)} MB)`,
      met: heaviest.peakRssMb.api < 200,
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
  const lines = [
    `Run ${report.date.slice(0, 16).replace('T', ' ')} UTC on ${report.machine.cpu} (${report.machine.cores} cores, ` +
      `${report.machine.memoryGb} GB), ${report.machine.os}, Node ${report.machine.node}; ` +
      `database: ${report.database.kind === 'postgres' ? `PostgreSQL ${report.database.version}` : `embedded PGlite (PostgreSQL ${report.database.version})`}, ` +
      `fresh and seeded with ${report.seed.description} (${report.seed.notes.toLocaleString('en')} notes)` +
      (report.database.vacuumedBeforeEachRun
        ? `, vacuumed before each run (the server's autovacuum: ${report.database.autovacuum ?? 'unknown'}). `
        : '. ') +
      `Each run ${report.settings.durationSec} s over ${report.settings.connections} connections, ` +
      `${report.settings.rounds} rounds alternating API and baseline, medians shown; whole run ${Math.round(report.elapsedSec)} s; ` +
      `1-minute load average ${report.loadAverage.before.toFixed(1)} before, ${report.loadAverage.after.toFixed(1)} after.`,
    '',
    `Reproduce: \`${report.command}\``,
    '',
    '| scenario | ours req/s | baseline req/s | ours / baseline | ours p50 / p99 ms | baseline p50 / p99 ms | p99 at half load (baseline at that rate) | DB round trips ours (statements) | baseline | peak RSS MB ours / baseline | 409 / failed |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const s of report.scenarios) {
    lines.push(
      `| ${s.title} | ${fmt(s.api.rps)} | ${fmt(s.baseline.rps)} | ${s.ratio.toFixed(2)}x | ` +
        `${ms(s.api.p50)} / ${ms(s.api.p99)} | ${ms(s.baseline.p50)} / ${ms(s.baseline.p99)} | ` +
        `${ms(s.halfLoad.p99)} ms at ${s.halfLoad.rate} req/s (${ms(s.halfLoad.baselineP99)} ms) | ${s.roundTrips.api.max} (${s.roundTrips.apiStatements.max}) | ` +
        `${s.roundTrips.baseline.max} | ${s.peakRssMb.api.toFixed(0)} / ${s.peakRssMb.baseline.toFixed(0)} | ` +
        `${s.api.conflicts + s.halfLoad.conflicts} / ${s.api.failures + s.halfLoad.failures} |`,
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
  await writeFile(docPath, doc);
  return file;
}
