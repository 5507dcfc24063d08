import { Agent, request } from 'node:http';
import autocannon from 'autocannon';
import type { Scenario } from './scenarios.ts';

export const PATH = '/api/v2/sync-notes';

export interface LoadResult {
  /** Successful (2xx) responses per second: what a client got served. */
  rps: number;
  /** Every response per second, whatever its status. */
  responsesPerSecond: number;
  p50: number;
  p99: number;
  requests: number;
  ok: number;
  /** 409 sync_in_progress answers: counted apart, never as successes. */
  conflicts: number;
  /** Other non-2xx answers, socket errors and timeouts. */
  failures: number;
  statusCodes: Record<string, number>;
  durationSec: number;
}

/**
 * Drives `url` with `scenario` as fast as it answers (closed loop: each connection sends its next
 * request when the last one is answered), for `durationSec` or `amount` requests, over `connections`
 * keep-alive connections. Each connection is a slot: its own user, fans and client history (see
 * scenarios.ts). For latency at a given throughput, see `pace`.
 */
export async function drive(options: {
  url: string;
  scenario: Scenario;
  target: 'api' | 'floor';
  connections: number;
  durationSec?: number;
  amount?: number;
  /** The first connection's slot (two drivers at once: each its own slots, users and fans). */
  firstSlot?: number;
}): Promise<LoadResult> {
  const { scenario, target } = options;
  let slots = options.firstSlot ?? 0;
  const instance = autocannon({
    url: `${options.url}${PATH}`,
    method: 'POST',
    connections: options.connections,
    ...(options.amount ? { amount: options.amount } : { duration: options.durationSec ?? 5 }),
    timeout: 30,
    setupClient: (client) => {
      const slot = slots++;
      client.setRequests([
        {
          method: 'POST',
          path: PATH,
          setupRequest: (request) => {
            const { body, token } = scenario.next(slot, target);
            return {
              ...request,
              body,
              headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            };
          },
          ...(scenario.answered
            ? { onResponse: (status: number, body: string) => scenario.answered!(slot, target, status, body) }
            : {}),
        },
      ]);
    },
  });
  const result = await instance;
  const statusCodes: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) {
    statusCodes[code] = (stats as { count: number }).count;
  }
  const ok = result['2xx'];
  const conflicts = statusCodes['409'] ?? 0;
  const durationSec = result.duration;
  return {
    rps: ok / durationSec,
    responsesPerSecond: (result['1xx'] + ok + result['3xx'] + result['4xx'] + result['5xx']) / durationSec,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    ok,
    conflicts,
    failures: result.non2xx - conflicts + result.errors + result.timeouts,
    statusCodes,
    durationSec,
  };
}

/**
 * Open-loop load at `rate` requests per second for `durationSec`: latency at a given throughput.
 * Request i is due at start + i / rate, whatever became of the requests before it, and goes to slot
 * i mod `slots` (a slot is one user with its own keep-alive connection and history, as in `drive`). A
 * request due while its slot still waits for its previous answer is sent when that answer arrives, and
 * every latency is counted from when the request was due, so a stall counts for each request it held
 * up (no coordinated omission).
 *
 * Not autocannon's `overallRate`, which is neither: each connection sends its quota for the second
 * back to back as the second starts, then idles (at "half load" the server sees full load for half of
 * every second), and it corrects for coordinated omission with an expected interval of ceil(1 / rate)
 * = 1 ms, recording L, L - 1, ..., 1 ms for a response of L ms (docs/PERFORMANCE.md, "Latency").
 */
export async function pace(options: {
  url: string;
  scenario: Scenario;
  target: 'api' | 'floor';
  slots: number;
  rate: number;
  durationSec: number;
}): Promise<LoadResult> {
  const { scenario, target, slots, rate } = options;
  const url = new URL(`${options.url}${PATH}`);
  const agents = Array.from({ length: slots }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  let errors = 0;

  const send = async (slot: number, due: number): Promise<void> => {
    const { body, token } = scenario.next(slot, target);
    try {
      const answer = await post(url, agents[slot]!, body, token, scenario.answered !== undefined);
      statusCodes[answer.status] = (statusCodes[answer.status] ?? 0) + 1;
      if (answer.status >= 200 && answer.status < 300) latencies.push(performance.now() - due);
      scenario.answered?.(slot, target, answer.status, answer.body);
    } catch {
      errors += 1;
    }
  };

  const total = Math.max(1, Math.round(rate * options.durationSec));
  const interval = 1000 / rate;
  const chains: Promise<void>[] = Array.from({ length: slots }, () => Promise.resolve());
  const started = performance.now();
  for (let i = 0; i < total;) {
    const now = performance.now();
    // Everything due by now goes out; timers are late by a millisecond or more, rates are not.
    while (i < total && started + i * interval <= now) {
      const slot = i % slots;
      const due = started + i * interval;
      chains[slot] = chains[slot]!.then(() => send(slot, due));
      i += 1;
    }
    if (i < total) await sleep(started + i * interval - performance.now());
  }
  await Promise.all(chains);
  const durationSec = (performance.now() - started) / 1000;
  for (const agent of agents) agent.destroy();

  const ok = latencies.length;
  const conflicts = statusCodes['409'] ?? 0;
  const answered = Object.values(statusCodes).reduce((sum, count) => sum + count, 0);
  latencies.sort((a, b) => a - b);
  return {
    rps: ok / durationSec,
    responsesPerSecond: answered / durationSec,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    requests: total,
    ok,
    conflicts,
    failures: answered - ok - conflicts + errors,
    statusCodes,
    durationSec,
  };
}

/** The median (of an even count, the mean of the middle two). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest rank (`p` in 0..1), on sorted values, to 0.1 ms; 0 when there are none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const value = sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
  return Math.round(value * 10) / 10;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** One POST on `agent`'s connection; the body is kept only when `keepBody`. */
function post(
  url: URL,
  agent: Agent,
  body: string,
  token: string,
  keepBody: boolean,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${token}`,
        },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => keepBody && chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: keepBody ? Buffer.concat(chunks).toString('utf8') : '',
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

export interface ProbeResult {
  statements: number[];
  roundTrips: number[];
  /** Of each request's round trips, those that prepared a statement at its first use on a connection. */
  prepares: number[];
  statuses: number[];
  /** The keys of the last 2xx answer's `data` and of its first note: the floor's must be the API's. */
  shape: string;
}

/**
 * Sends `count` requests one at a time (slot 0, so it continues the scenario's own history) to a
 * server started with query counting, and reads each response's `x-db-statements` and
 * `x-db-round-trips` headers (and `x-db-prepares`: those round trips that prepared a statement at its
 * first use on a connection). One at a time, so every statement counted is this request's. Before
 * them, `warmup` rounds of one request on each of the `slots` at once, which warm the whole pool
 * (requests one at a time leave it to chance which connections they reach).
 */
export async function probe(options: {
  url: string;
  scenario: Scenario;
  target: 'api' | 'floor';
  count: number;
  warmup: number;
  slots: number;
}): Promise<ProbeResult> {
  const out: ProbeResult = { statements: [], roundTrips: [], prepares: [], statuses: [], shape: '' };
  const send = async (slot: number) => {
    const { body, token } = options.scenario.next(slot, options.target);
    const response = await fetch(`${options.url}${PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body,
    });
    const text = await response.text();
    options.scenario.answered?.(slot, options.target, response.status, text);
    if (response.status >= 300 && process.env.BENCH_VERBOSE)
      process.stderr.write(`probe ${response.status}: ${text.slice(0, 300)}\n`);
    return { response, text };
  };
  for (let round = 0; round < options.warmup; round++) {
    await Promise.all(Array.from({ length: options.slots }, (_, slot) => send(slot)));
  }
  for (let i = 0; i < options.count; i++) {
    const { response, text } = await send(0);
    if (response.ok) out.shape = answerShape(text);
    out.statuses.push(response.status);
    out.statements.push(Number(response.headers.get('x-db-statements') ?? NaN));
    out.roundTrips.push(Number(response.headers.get('x-db-round-trips') ?? NaN));
    out.prepares.push(Number(response.headers.get('x-db-prepares') ?? NaN));
  }
  return out;
}

/** `data` keys | first note's keys, sorted: what an answer holds, whatever its values. */
function answerShape(text: string): string {
  const answer = JSON.parse(text) as { status?: string; data?: { notes?: Record<string, unknown>[] } };
  const data = answer.data ?? {};
  const note = data.notes?.[0];
  return [
    Object.keys(answer).sort().join(','),
    Object.keys(data).sort().join(','),
    note ? Object.keys(note).sort().join(',') : '(no note)',
  ].join(' | ');
}
