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
 * Drives `url` with `scenario` for `durationSec` over `connections` keep-alive connections. Each
 * connection is a slot: its own user, fans and client history (see scenarios.ts). With `overallRate`
 * the load is open-loop at that many requests per second (for latency at a fixed throughput).
 */
export async function drive(options: {
  url: string;
  scenario: Scenario;
  target: 'api' | 'baseline';
  connections: number;
  durationSec?: number;
  amount?: number;
  overallRate?: number;
}): Promise<LoadResult> {
  const { scenario, target } = options;
  let slots = 0;
  const instance = autocannon({
    url: `${options.url}${PATH}`,
    method: 'POST',
    connections: options.connections,
    ...(options.amount ? { amount: options.amount } : { duration: options.durationSec ?? 5 }),
    ...(options.overallRate ? { overallRate: options.overallRate } : {}),
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

export interface ProbeResult {
  statements: number[];
  roundTrips: number[];
  statuses: number[];
}

/**
 * Sends `count` requests one at a time (slot 0, so it continues the scenario's own history) to a
 * server started with query counting, and reads each response's `x-db-statements` and
 * `x-db-round-trips` headers. One at a time, so every statement counted is this request's.
 */
export async function probe(options: {
  url: string;
  scenario: Scenario;
  target: 'api' | 'baseline';
  count: number;
  warmup: number;
}): Promise<ProbeResult> {
  const out: ProbeResult = { statements: [], roundTrips: [], statuses: [] };
  for (let i = 0; i < options.warmup + options.count; i++) {
    const { body, token } = options.scenario.next(0, options.target);
    const response = await fetch(`${options.url}${PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body,
    });
    const text = await response.text();
    options.scenario.answered?.(0, options.target, response.status, text);
    if (response.status >= 300 && process.env.BENCH_VERBOSE)
      process.stderr.write(`probe ${response.status}: ${text.slice(0, 300)}\n`);
    if (i < options.warmup) continue;
    out.statuses.push(response.status);
    out.statements.push(Number(response.headers.get('x-db-statements') ?? NaN));
    out.roundTrips.push(Number(response.headers.get('x-db-round-trips') ?? NaN));
  }
  return out;
}
