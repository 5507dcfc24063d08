/**
 * How often one fan may be fully synchronised. The costly part of a full sync is reading the fan's
 * notes on OnlyFans, rationed per OnlyFans account, so the same policy runs in the extension (to
 * avoid calls) and in the API (to enforce them). Both values are per fan, non-negative milliseconds.
 */
export interface ThrottlePolicy {
  /** Least time between two full syncs that nobody forced. */
  minIntervalMs: number;
  /** Least time between two forced full syncs: forcing faster is refused, not queued. */
  forceFloorMs: number;
}

// Frozen because every caller in a running app shares this one object: a runner that tweaked it in
// place would silently change the policy of all the others. Build a new object to override it.
export const defaultThrottlePolicy: ThrottlePolicy = Object.freeze({
  minIntervalMs: 30_000,
  forceFloorMs: 5_000,
});
