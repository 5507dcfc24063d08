import { isBudgetFull, takeFromBudget, type BudgetPolicy, type Bucket } from '@fannotes/sync-core';
import { ApiError } from '../errors.ts';

// Enough users to cover every active chatter of a process; beyond it, full (idle) buckets are forgotten.
const MAX_TRACKED = 50_000;

/**
 * Per-user request budgets of this process (the policy is sync-core's token bucket). Kept in memory:
 * a budget is a guard against runaway clients and scripts, not an accounting record, so N processes
 * behind a load balancer allow N times the budget at most. Memory stays bounded: when the map is
 * full, buckets that have refilled completely are dropped (they hold nothing a new bucket would not).
 */
export class RequestBudgets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly policy: BudgetPolicy | null) {}

  /** Throws 429 rate_limit_exceeded with Retry-After when the user is over budget. */
  take(userId: string, now: number): void {
    if (!this.policy) return;
    const decision = takeFromBudget(this.buckets.get(userId), now, this.policy);
    this.buckets.delete(userId);
    this.buckets.set(userId, decision.bucket);
    if (this.buckets.size > MAX_TRACKED) this.forgetIdle(now);
    if (!decision.allowed) {
      throw new ApiError('rate_limit_exceeded', 'Too many requests; slow down.', {
        retryAfterSeconds: decision.retryAfterMs / 1000,
      });
    }
  }

  get size(): number {
    return this.buckets.size;
  }

  private forgetIdle(now: number): void {
    for (const [userId, bucket] of this.buckets) {
      if (isBudgetFull(bucket, now, this.policy!)) this.buckets.delete(userId);
    }
    // Still too many active users: drop the least recently seen (Map keeps insertion order).
    for (const userId of this.buckets.keys()) {
      if (this.buckets.size <= MAX_TRACKED) break;
      this.buckets.delete(userId);
    }
  }
}
