/**
 * A caller's request budget: a token bucket. `capacity` requests may come at once, then
 * `refillPerSecond` more each second. Pure: the runner keeps the bucket and passes the time.
 */
export interface BudgetPolicy {
  capacity: number;
  refillPerSecond: number;
}

export const defaultBudgetPolicy: BudgetPolicy = Object.freeze({ capacity: 120, refillPerSecond: 5 });

export interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (epoch ms). */
  updatedAt: number;
}

export type BudgetDecision =
  { allowed: true; bucket: Bucket } | { allowed: false; bucket: Bucket; retryAfterMs: number };

/**
 * Takes one request from the bucket. A bucket never holds more than `capacity`, and a clock that went
 * backwards refills nothing (and takes nothing away). A refused request costs nothing.
 */
export function takeFromBudget(
  bucket: Bucket | undefined,
  now: number,
  policy: BudgetPolicy,
): BudgetDecision {
  const elapsedMs = bucket ? Math.max(0, now - bucket.updatedAt) : 0;
  const tokens = bucket
    ? Math.min(policy.capacity, bucket.tokens + (elapsedMs / 1000) * policy.refillPerSecond)
    : policy.capacity;
  const updatedAt = bucket ? Math.max(now, bucket.updatedAt) : now;
  if (tokens >= 1) return { allowed: true, bucket: { tokens: tokens - 1, updatedAt } };
  const retryAfterMs =
    policy.refillPerSecond > 0 ? Math.ceil(((1 - tokens) / policy.refillPerSecond) * 1000) : 60_000;
  return { allowed: false, bucket: { tokens, updatedAt }, retryAfterMs };
}

/** Whether a bucket left alone until `now` would be full again, so it can be forgotten. */
export function isBudgetFull(bucket: Bucket, now: number, policy: BudgetPolicy): boolean {
  return (
    bucket.tokens + (Math.max(0, now - bucket.updatedAt) / 1000) * policy.refillPerSecond >= policy.capacity
  );
}
