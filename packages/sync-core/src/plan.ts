import type { ThrottlePolicy } from './throttle.ts';

/** What must be stored per fan to throttle its syncs: epoch milliseconds of the last full and forced syncs. */
export interface FanSyncState {
  lastFullSyncAt: number | null;
  lastForcedSyncAt: number | null;
}

/**
 * - `full`: run a full sync now; after it succeeds, store `afterFullSync(...)`.
 * - `throttled`: answer from stored notes (`synchronized: false`); a full sync is allowed at `nextSyncAt`.
 * - `reject`: forced too often: 429 `rate_limit_exceeded` with `Retry-After` from `retryAfterMs`.
 */
export type SyncPlan =
  | { action: 'full'; reason: 'first' | 'due' | 'forced' | 'changes'; nextSyncAt: number }
  | { action: 'throttled'; nextSyncAt: number }
  | { action: 'reject'; retryAfterMs: number; nextSyncAt: number };

/**
 * The one throttle decision, run by the extension before it reads OnlyFans and by the API before it
 * syncs. Invariants:
 * - a request carrying changes (mutations or an OnlyFans snapshot) is always fully processed, whatever
 *   `force` and the clock say: a user's changes are never dropped;
 * - `throttled` and `reject` never tell a caller to wait more than one interval (`minIntervalMs`,
 *   `forceFloorMs`) from `now`, even when a stored time is in the future (see `effectiveStamp`).
 */
export function planSync(input: {
  state: FanSyncState;
  force: boolean;
  hasChanges: boolean;
  now: number;
  policy: ThrottlePolicy;
}): SyncPlan {
  const { state, force, hasChanges, now, policy } = input;
  const full = (reason: 'first' | 'due' | 'forced' | 'changes'): SyncPlan => ({
    action: 'full',
    reason,
    nextSyncAt: now + policy.minIntervalMs,
  });

  if (hasChanges) return full('changes');

  if (force) {
    const lastForced = effectiveStamp(state.lastForcedSyncAt, now, policy.forceFloorMs);
    if (lastForced !== null && now - lastForced < policy.forceFloorMs) {
      const allowedAt = lastForced + policy.forceFloorMs;
      return { action: 'reject', retryAfterMs: allowedAt - now, nextSyncAt: allowedAt };
    }
    return full('forced');
  }

  if (state.lastFullSyncAt === null) return full('first');
  const lastFull = effectiveStamp(state.lastFullSyncAt, now, policy.minIntervalMs);
  if (lastFull === null || now - lastFull >= policy.minIntervalMs) return full('due');
  return { action: 'throttled', nextSyncAt: lastFull + policy.minIntervalMs };
}

/**
 * The state to store once a full sync has succeeded. Pass `forced: true` when the request asked for
 * `force`, whatever the plan's reason, so that the force floor counts every forced read of OnlyFans.
 * Invariant: no stored time is later than `now`, and `lastForcedSyncAt <= lastFullSyncAt` (a forced
 * sync is a full sync), so a stamp written by a clock that has since gone back is repaired here.
 */
export function afterFullSync(
  state: FanSyncState,
  { now, forced }: { now: number; forced: boolean },
): FanSyncState {
  const previousForced = state.lastForcedSyncAt;
  return {
    lastFullSyncAt: now,
    lastForcedSyncAt: forced ? now : previousForced === null ? null : Math.min(previousForced, now),
  };
}

/**
 * A stored time as this decision may trust it. A time in the future means two clocks disagree:
 * - up to one interval ahead, it is skew between machines (another API process, the database) and is
 *   read as `now`, so one answer never asks for more than one interval of waiting; real time passes the
 *   stamp within that interval, so a fan waits at most two intervals in all;
 * - further ahead, our clock went back (or the stamp is corrupt) and the stamp says nothing about when
 *   the fan last synced. Reading it as `now` would throttle on every call until real time caught up,
 *   days later if the clock jumped back by days, because throttled reads store nothing. So it is
 *   ignored (null): one extra full sync, whose `afterFullSync` then repairs the stored state.
 */
function effectiveStamp(stamp: number | null, now: number, interval: number): number | null {
  if (stamp === null || stamp <= now) return stamp;
  return stamp - now <= interval ? now : null;
}
