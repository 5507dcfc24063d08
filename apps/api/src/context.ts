import type { Database, FanChangeNotifier } from '@fannotes/db';
import type { ThrottlePolicy } from '@fannotes/sync-core';
import type { AuthUser, TokenVerifier } from './auth/verify-token.ts';
import type { LiveHub } from './live/hub.ts';
import type { Logger } from './logger.ts';
import type { InFlightLimit } from './services/in-flight.ts';
import type { RequestBudgets } from './services/request-budget.ts';

/** Everything a request needs that outlives it: built once per process (or per test). */
export interface AppDeps {
  db: Database;
  verifyToken: TokenVerifier;
  /** Web origins allowed to call with cookies (and through CORS). */
  allowedOrigins: readonly string[];
  throttle: ThrottlePolicy;
  /** How long deleted notes are kept as tombstones for deltas, in ms. */
  tombstoneTtlMs: number;
  /** Per-user request budgets (429 when over). */
  budgets: RequestBudgets;
  /** Per-user requests running at once (429 beyond). */
  inFlight: InFlightLimit;
  /** The clock every decision reads; tests pass a fixed one. */
  now: () => Date;
  logger: Logger;
  /**
   * Announces committed fan changes to every API process (packages/db/src/notify.ts): each write calls
   * it after its commit, before it answers.
   */
  pokes: FanChangeNotifier;
  /** PUBLIC_URL: where links the API hands out (invite links) point; unset, the request's own origin. */
  publicUrl?: string | undefined;
  /** Live updates (notes.changes); unset, the subscription answers 503. Set from startLive (live/start.ts). */
  live?: LiveHub;
}

export interface RequestHeaders {
  authorization?: string | undefined;
  cookie?: string | undefined;
  origin?: string | undefined;
  /** `Idempotency-Key`, as sent (services/idempotency.ts reads it). */
  idempotencyKey?: string | undefined;
  /** `http(s)://host[:port]` the request reached this server at (from Host), for links without PUBLIC_URL. */
  serverOrigin?: string | undefined;
}

export interface Context {
  deps: AppDeps;
  requestId: string;
  headers: RequestHeaders;
}

export interface AuthedContext extends Context {
  user: AuthUser;
}

/**
 * No logger in it: failures are logged at the edge, on the request's logger (http-errors.ts, and the
 * tRPC adapter's onError in server.ts), which carries `requestId`.
 */
export function createContext(deps: AppDeps, requestId: string, headers: RequestHeaders): Context {
  return { deps, requestId, headers };
}
