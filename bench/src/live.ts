import { randomUUID } from 'node:crypto';
import { get, type ClientRequest, type IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';
import { EventSource } from 'eventsource';
import type postgres from 'postgres';
import { median, percentile, type LoadResult } from './load.ts';
import type { ServerProcess } from './processes.ts';
import type { SeededFan } from './seed.ts';

/**
 * Live updates (issue 15), on PostgreSQL with two API processes, A and B:
 * 1. `idleStreams` streams (`GET /api/v2/events`) held open on A: A's RSS before and after, and A's
 *    database connections (streams must hold none: the pool's, plus the one listener).
 * 2. With those streams open, `writes` REST writes on A, one at a time, each to its own fan: when does
 *    the poke reach a subscriber of B? From the write's sending (an upper bound on the time from its
 *    commit) and from its answer (a lower bound).
 * 3. The push of 1 mutation, A B A B: on A (pokes sent after each write, A's listener, its idle
 *    streams) against `off`, a process started with LIVE_UPDATES=0.
 * 4. The same once each member of the written accounts has a stream open on A: every push is then
 *    delivered to each of them (hundreds of pokes a second per stream), a figure without a target.
 */
export interface LiveReport {
  idle: {
    streams: number;
    rssBeforeMb: number;
    rssAfterMb: number;
    addedMb: number;
    /** A's backends, by kind, before and after the streams opened. */
    connectionsBefore: { pool: number; listening: number };
    connectionsAfter: { pool: number; listening: number };
    poolMax: number;
    openMs: number;
  };
  pokes: {
    writes: number;
    missed: number;
    fromSendMs: { p50: number; p95: number; max: number };
    fromAnswerMs: { p50: number; p95: number; max: number };
  };
  /** The push of 1 with live updates on (A, its idle streams open) against off. */
  push: PushComparison;
  /**
   * The same with one more stream per member of every account (`members`), each hearing every push: the
   * cost of delivering pokes at the bench's write rate, hundreds a second to each of them.
   */
  fanOut: PushComparison & { members: number };
}

export interface PushComparison {
  onRps: number[];
  offRps: number[];
  on: number;
  off: number;
  ratio: number;
}

export interface LiveOptions {
  a: ServerProcess;
  b: ServerProcess;
  /** Started with LIVE_UPDATES=0: no listener, no pokes. */
  off: ServerProcess;
  /** The application_name A's connections carry. */
  applicationName: string;
  poolMax: number;
  admin: postgres.Sql;
  /** Tokens of users who are members of every account (they receive the pokes). */
  memberTokens: string[];
  mint: (userId: string) => Promise<string>;
  fans: SeededFan[];
  idleStreams: number;
  writes: number;
  /** The push of 1 mutation on `url` for `durationSec` (run.ts's `drive`, vacuumed first). */
  push: (url: string) => Promise<LoadResult>;
  rounds: number;
  log: (message: string) => void;
}

const MAX_STREAMS_PER_USER = 5;

export async function runLive(options: LiveOptions): Promise<LiveReport> {
  const { a, b, admin, log } = options;
  const held: ClientRequest[] = [];
  try {
    // 1. Idle streams on A: users whose accounts are not written to during the run (here, of none), so
    //    their streams carry nothing but pings.
    // First a warm-up: 100 streams opened and closed, so that the code they run is loaded and compiled
    // before the measurement, and the RSS compared is the floor after the allocator settles (V8
    // collects an idle heap within seconds): what the open streams hold, not the garbage of opening.
    const warmup = await Promise.all(
      Array.from({ length: 100 }, async () => hold(a.url, await options.mint(randomUUID()))),
    );
    for (const request of warmup) request.destroy();
    const rssBefore = await rssFloor(a.pid, 10_000);
    const connectionsBefore = await backends(admin, options.applicationName);
    const openStarted = performance.now();
    const tokens: string[] = [];
    while (tokens.length < options.idleStreams) {
      const token = await options.mint(randomUUID());
      for (let i = 0; i < MAX_STREAMS_PER_USER && tokens.length < options.idleStreams; i++)
        tokens.push(token);
    }
    for (let start = 0; start < tokens.length; start += 100) {
      held.push(...(await Promise.all(tokens.slice(start, start + 100).map((token) => hold(a.url, token)))));
    }
    const openMs = performance.now() - openStarted;
    const rssAfter = await rssFloor(a.pid, 10_000);
    const idle = {
      streams: held.length,
      rssBeforeMb: rssBefore / 2 ** 20,
      rssAfterMb: rssAfter / 2 ** 20,
      addedMb: 0,
      connectionsBefore,
      connectionsAfter: await backends(admin, options.applicationName),
      poolMax: options.poolMax,
      openMs,
    };
    idle.addedMb = idle.rssAfterMb - idle.rssBeforeMb;
    log(
      `live: ${held.length} idle streams on A in ${Math.round(openMs)} ms: RSS ${idle.rssBeforeMb.toFixed(1)} -> ` +
        `${idle.rssAfterMb.toFixed(1)} MB; connections ${JSON.stringify(idle.connectionsBefore)} -> ` +
        `${JSON.stringify(idle.connectionsAfter)}`,
    );

    // 2. Write on A, hear on B.
    const pokes = await measurePokes(options);
    log(
      `live: ${pokes.writes} writes on A, pokes on B: p50 ${pokes.fromSendMs.p50} / p95 ${pokes.fromSendMs.p95} ms ` +
        `from the write's sending (${pokes.fromAnswerMs.p50} / ${pokes.fromAnswerMs.p95} ms from its answer), ` +
        `${pokes.missed} missed`,
    );

    // 3. Push throughput, live updates on (A) and off, alternating. B is stopped first: on a shared
    //    machine its handling of every poke would take CPU from A, which separate hosts would not.
    await b.stop();
    // Warm-ups first, untimed: the `off` process has served nothing yet (its code is not compiled).
    await options.push(options.off.url);
    await options.push(a.url);
    const push = await comparePush(options, 'idle streams');
    // 4. The same with the members' streams open on A, each hearing every push.
    held.push(...(await Promise.all(options.memberTokens.map((token) => hold(a.url, token)))));
    const fanOut = {
      // For the record (no target): one round.
      ...(await comparePush({ ...options, rounds: 1 }, 'member streams')),
      members: options.memberTokens.length,
    };
    return { idle, pokes, push, fanOut };
  } finally {
    for (const request of held) request.destroy();
  }
}

/** The push of 1 on A (live updates on) and on `off`, alternating which goes first, medians. */
async function comparePush(options: LiveOptions, what: string): Promise<PushComparison> {
  const onRps: number[] = [];
  const offRps: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    for (const on of round % 2 ? [false, true] : [true, false]) {
      (on ? onRps : offRps).push((await options.push(on ? options.a.url : options.off.url)).rps);
    }
    options.log(
      `live: push of 1 (${what}), round ${round + 1}: live updates on ${onRps.at(-1)!.toFixed(0)} rps, ` +
        `off ${offRps.at(-1)!.toFixed(0)} rps`,
    );
  }
  // The ratio is the median of each round's on/off: the two runs of a round are seconds apart, so a
  // machine that gets busier or quieter during the scenario moves both, not the ratio.
  const ratios = onRps.map((rps, round) => rps / offRps[round]!);
  return { onRps, offRps, on: median(onRps), off: median(offRps), ratio: median(ratios) };
}

async function measurePokes(options: LiveOptions): Promise<LiveReport['pokes']> {
  const token = options.memberTokens[0]!;
  const heard = new Map<string, { version: number; at: number }[]>();
  let wake: (() => void) | undefined;
  const source = new EventSource(`${options.b.url}/api/v2/events`, {
    fetch: (input, init) =>
      fetch(input, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } }),
  });
  source.addEventListener('message', (event) => {
    const poke = JSON.parse(String(event.data)) as { fanId: string; version: number };
    const list = heard.get(poke.fanId) ?? [];
    list.push({ version: poke.version, at: performance.now() });
    heard.set(poke.fanId, list);
    wake?.();
  });
  await new Promise<void>((resolve, reject) => {
    source.onopen = () => resolve();
    source.onerror = (error) => reject(new Error(`the subscriber on B failed: ${error.message ?? ''}`));
  });
  const fromSend: number[] = [];
  const fromAnswer: number[] = [];
  let missed = 0;
  try {
    const fans = options.fans.slice(0, options.writes);
    for (const [index, fan] of fans.entries()) {
      const sent = performance.now();
      const response = await fetch(`${options.a.url}/api/v2/update-note`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ fanId: fan.fanId, accountId: fan.accountId, content: `Live ${index}.` }),
      });
      const answered = performance.now();
      if (response.status !== 200)
        throw new Error(`update-note answered ${response.status}: ${await response.text()}`);
      const { version } = ((await response.json()) as { data: { version: number } }).data;
      const poke = await new Promise<{ at: number } | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), 2_000);
        const check = () => {
          const found = heard.get(fan.fanId)?.find((entry) => entry.version >= version);
          if (!found) return;
          clearTimeout(timer);
          wake = undefined;
          resolve(found);
        };
        wake = check;
        check();
      });
      if (!poke) {
        missed++;
        continue;
      }
      fromSend.push(poke.at - sent);
      fromAnswer.push(poke.at - answered);
    }
  } finally {
    source.close();
  }
  return { writes: options.writes, missed, fromSendMs: summary(fromSend), fromAnswerMs: summary(fromAnswer) };
}

/** Opens one stream and keeps reading (and dropping) what comes, as an idle client does. */
function hold(url: string, token: string): Promise<ClientRequest> {
  return new Promise((resolve, reject) => {
    const request = get(
      `${url}/api/v2/events`,
      { agent: false, headers: { authorization: `Bearer ${token}` } },
      (response: IncomingMessage) => {
        if (response.statusCode !== 200) {
          reject(new Error(`a stream was refused: ${response.statusCode}`));
          response.resume();
          return;
        }
        response.resume();
        resolve(request);
      },
    );
    request.on('error', reject);
  });
}

async function backends(admin: postgres.Sql, applicationName: string) {
  const rows = await admin<{ listening: boolean }[]>`
    select query ilike 'listen%' as listening from pg_stat_activity
    where datname = current_database() and application_name = ${applicationName}`;
  const listening = rows.filter((row) => row.listening).length;
  return { pool: rows.length - listening, listening };
}

/** Resident set size now (VmRSS), in bytes. */
function currentRss(pid: number): number {
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return rss ? Number(rss[1]) * 1024 : 0;
}

/** The lowest RSS seen over `ms`, sampled every 250 ms. */
async function rssFloor(pid: number, ms: number): Promise<number> {
  let floor = currentRss(pid);
  for (let waited = 0; waited < ms; waited += 250) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    floor = Math.min(floor, currentRss(pid));
  }
  return floor;
}

function summary(values: number[]) {
  const sorted = [...values].sort((x, y) => x - y);
  return { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), max: percentile(sorted, 1) };
}
