import { AsyncLocalStorage } from 'node:async_hooks';
import type { PGlite } from '@electric-sql/pglite';

// The benchmark's (and the round-trip test's) query counting: off unless a handle is opened with
// `countQueries`, and then only work run inside `withQueryCount` is counted.

/**
 * What one unit of work (an HTTP request) cost the database, counted at the driver: every statement
 * sent (BEGIN and COMMIT included), and the network round trips they took (a statement sent behind
 * another without waiting for its answer, pipelinedStatements, takes none of its own). With postgres.js a
 * parameterised statement a connection has not prepared yet costs two round trips (Parse/Describe,
 * then Bind/Execute); a prepared one costs one. Counted only when the handle was opened with
 * `countQueries` and the work runs inside `withQueryCount`.
 */
export interface QueryCount {
  statements: number;
  roundTrips: number;
  /**
   * Of the round trips, those that prepared a statement on a connection that had not used it yet: a
   * connection's first use of each statement pays one, once (steady state: `roundTrips - prepares`).
   */
  prepares: number;
}

/** Where the statements of the work running now are counted; `pipelined`: not as round trips. */
interface Counting {
  count: QueryCount;
  pipelined: boolean;
}

const queryCounts = new AsyncLocalStorage<Counting>();

/** Runs `fn`, adding to `count` the statements and round trips made on its behalf. */
export function withQueryCount<T>(count: QueryCount, fn: () => T): T {
  return queryCounts.run({ count, pipelined: false }, fn);
}

/**
 * Runs `fn`, whose statements are sent without waiting for their answers on their own: BEGIN ahead of
 * a transaction's first statement, COMMIT behind its last (pipelined-transaction.ts). They count as
 * statements, and take no round trip of their own (a statement not yet prepared still costs one).
 */
export function pipelinedStatements<T>(fn: () => T): T {
  const counting = queryCounts.getStore();
  return counting ? queryCounts.run({ count: counting.count, pipelined: true }, fn) : fn();
}

/**
 * postgres.js `debug` hook: counts each statement as it is written to a connection, and mirrors the
 * driver's per-connection cache of prepared statements (keyed, as the driver keys it, by parameter
 * types and text; emptied when a connection reconnects, which starts with its type query) to tell
 * one round trip from two.
 */
export function postgresQueryCounter(
  prepare: boolean,
): (connection: number, query: string, parameters: unknown[], types: unknown[]) => void {
  const prepared = new Map<number, Set<string>>();
  return (connection, query, parameters, types) => {
    let statements = prepared.get(connection);
    if (!statements || query.includes('from pg_catalog.pg_type a')) {
      statements = new Set();
      prepared.set(connection, statements);
    }
    let trips = 1;
    let prepares = 0;
    // An unnamed statement with parameters is described first, every time: two round trips.
    if (parameters.length > 0 && !prepare) trips = 2;
    else if (parameters.length > 0) {
      const signature = `${types.join(',')}${query}`;
      if (!statements.has(signature)) {
        statements.add(signature);
        trips = 2;
        prepares = 1;
      }
    }
    const counting = queryCounts.getStore();
    if (counting) {
      counting.count.statements += 1;
      counting.count.roundTrips += counting.pipelined ? trips - 1 : trips;
      counting.count.prepares += prepares;
    }
  };
}

/** PGlite runs in-process: each statement is one call (a transaction adds BEGIN and COMMIT/ROLLBACK). */
export function countPgliteQueries(client: PGlite): void {
  const add = () => {
    const counting = queryCounts.getStore();
    if (counting) {
      counting.count.statements += 1;
      counting.count.roundTrips += 1;
    }
  };
  type Call = (...args: unknown[]) => unknown;
  const wrap = <T extends Pick<PGlite, 'query' | 'exec'>>(target: T): T => {
    const methods = target as unknown as Record<'query' | 'exec', Call>;
    for (const name of ['query', 'exec'] as const) {
      const original = methods[name].bind(target);
      methods[name] = (...args) => (add(), original(...args));
    }
    return target;
  };
  wrap(client);
  const transaction = client.transaction.bind(client);
  client.transaction = (async (callback: Parameters<PGlite['transaction']>[0]) => {
    add(); // BEGIN
    try {
      return await transaction((tx) => callback(wrap(tx)));
    } finally {
      add(); // COMMIT or ROLLBACK
    }
  }) as PGlite['transaction'];
}
