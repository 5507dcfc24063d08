import { requestBudgets, type Database } from '@fannotes/db';
import { isBudgetFull, takeFromBudget, type BudgetPolicy, type Bucket } from '@fannotes/sync-core';
import { sql } from 'drizzle-orm';
import { ApiError } from '../errors.ts';
import type { Logger } from '../logger.ts';

// Enough users to cover every active chatter of a process; beyond it, idle users are forgotten.
const MAX_TRACKED = 50_000;
/** How long tokens a process took may sit unused before it gives them back (ms). */
const IDLE_MS = 1_000;

/**
 * The per-user budgets of every API process, kept in PostgreSQL (`request_budgets`): each user's
 * bucket refills there at the policy's rate. A process takes tokens from it a chunk at a time (a tenth
 * of the burst), spends them locally, takes the next chunk before it runs out, and gives back what a
 * user left unused for a second. So N processes allow one budget, not N: the database hands out no
 * token twice, and at most a chunk per process sits unused at any moment. Only a process that has run
 * out waits for the database; most requests spend a local token.
 */
export interface BudgetStore {
  /** Up to `want` tokens from the user's bucket as of `now` (ms), and what it holds after. */
  take(userId: string, want: number, now: number): Promise<{ granted: number; left: number }>;
  /** Tokens a process took and did not spend, back into their users' buckets. */
  giveBack(unused: { userId: string; tokens: number }[]): Promise<void>;
}

export function postgresBudgetStore(db: Database, policy: BudgetPolicy): BudgetStore {
  return {
    async take(userId, want, now) {
      const at = new Date(now).toISOString();
      const refilled = sql`least(${policy.capacity}::float8, b.tokens
        + greatest(0, extract(epoch from (${at}::timestamptz - b.updated_at))) * ${policy.refillPerSecond}::float8)`;
      const result: unknown = await db.execute(sql`
        insert into ${requestBudgets} as b (user_id, tokens, last_grant, updated_at)
        values (${userId}, ${policy.capacity - want}::float8, ${want}, ${at}::timestamptz)
        on conflict (user_id) do update set
          tokens = ${refilled} - least(${want}, floor(${refilled})),
          last_grant = least(${want}, floor(${refilled})),
          updated_at = greatest(b.updated_at, ${at}::timestamptz)
        returning tokens, last_grant`);
      const rows = Array.isArray(result) ? result : (result as { rows: unknown[] }).rows;
      const [row] = rows as { tokens: number | string; last_grant: number | string }[];
      return { granted: Number(row!.last_grant), left: Number(row!.tokens) };
    },
    async giveBack(unused) {
      if (unused.length === 0) return;
      await db.execute(sql`
        update ${requestBudgets} b set tokens = least(${policy.capacity}::float8, b.tokens + r.tokens)
        from jsonb_to_recordset(${JSON.stringify(unused)}::text::jsonb) as r("userId" uuid, tokens float8)
        where b.user_id = r."userId"`);
    },
  };
}

interface Holding {
  /** Tokens taken from the shared bucket and not spent yet. */
  tokens: number;
  /** Requests waiting for a token: a take asks for at least as many. */
  waiting: number;
  /** When one was last spent (ms, the budgets' clock). */
  usedAt: number;
  /** The take in flight, if any. */
  taking: Promise<void> | null;
  /** From the last take that got nothing: how long until the bucket holds a token. */
  retryAfterMs: number;
}

/**
 * Per-user request budgets (the policy is sync-core's token bucket). With a `store`, the budget is
 * shared by every process on the database (see BudgetStore); without one (the embedded database,
 * which one process owns), it is this process's own. Memory stays bounded either way.
 */
export class RequestBudgets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly holdings = new Map<string, Holding>();
  private readonly chunk: number;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly policy: BudgetPolicy | null,
    private readonly options: { store?: BudgetStore; now?: () => number; log?: Logger } = {},
  ) {
    this.chunk = policy ? Math.max(1, Math.ceil(policy.capacity / 10)) : 0;
    if (policy && options.store) {
      const now = options.now ?? Date.now;
      this.timer = setInterval(() => void this.settle(now()), IDLE_MS);
      this.timer.unref();
    }
  }

  /** Resolves when the user may make a request; throws 429 rate_limit_exceeded with Retry-After if not. */
  async take(userId: string, now: number): Promise<void> {
    if (!this.policy) return;
    if (!this.options.store) return this.takeLocal(userId, now);
    let holding = this.holdings.get(userId);
    if (!holding) {
      holding = { tokens: 0, waiting: 0, usedAt: now, taking: null, retryAfterMs: 1_000 };
      this.holdings.set(userId, holding);
      if (this.holdings.size > MAX_TRACKED) void this.settle(now, true);
    }
    // Until this request has a token or the bucket is empty: every take either hands out tokens (which
    // the requests waiting on it share) or none, and the bucket holds finitely many.
    holding.waiting++;
    try {
      while (holding.tokens < 1) {
        await (holding.taking ?? this.takeChunk(userId, holding, now));
        if (holding.tokens < 1 && holding.retryAfterMs > 0) throw overBudget(holding.retryAfterMs);
      }
    } finally {
      holding.waiting--;
    }
    holding.tokens -= 1;
    holding.usedAt = now;
    // Take the next chunk before this one runs out, off the path of the requests that follow.
    if (holding.tokens < this.chunk / 2 && !holding.taking) void this.takeChunk(userId, holding, now);
  }

  /** Gives back the tokens of users idle for IDLE_MS (all of them with `everyone`), and forgets them. */
  async settle(now: number, everyone = false): Promise<void> {
    const unused: { userId: string; tokens: number }[] = [];
    for (const [userId, holding] of this.holdings) {
      if (holding.taking || (!everyone && now - holding.usedAt < IDLE_MS)) continue;
      this.holdings.delete(userId);
      if (holding.tokens >= 1) unused.push({ userId, tokens: Math.floor(holding.tokens) });
    }
    try {
      await this.options.store?.giveBack(unused);
    } catch (error) {
      this.options.log?.warn({ err: error }, 'could not give request budget tokens back');
    }
  }

  /** Stops giving tokens back on a timer (and gives back what is held). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.settle(Number.MAX_SAFE_INTEGER, true);
  }

  get size(): number {
    return this.options.store ? this.holdings.size : this.buckets.size;
  }

  private takeChunk(userId: string, holding: Holding, now: number): Promise<void> {
    holding.taking = this.options
      .store!.take(userId, Math.min(this.policy!.capacity, Math.max(this.chunk, holding.waiting)), now)
      .then(({ granted, left }) => {
        holding.tokens += granted;
        holding.retryAfterMs =
          granted > 0 ? 0 : Math.max(1, Math.ceil(((1 - left) / this.policy!.refillPerSecond) * 1000));
      })
      .catch((error: unknown) => {
        // A budget is a guard against runaway clients, not an accounting record: with the database
        // unreachable, the request itself will say so; the budget does not refuse it.
        this.options.log?.warn({ err: error }, 'request budget unavailable; allowing the request');
        holding.tokens += 1;
        holding.retryAfterMs = 0;
      })
      .finally(() => {
        holding.taking = null;
      });
    return holding.taking;
  }

  private takeLocal(userId: string, now: number): void {
    const decision = takeFromBudget(this.buckets.get(userId), now, this.policy!);
    this.buckets.delete(userId);
    this.buckets.set(userId, decision.bucket);
    if (this.buckets.size > MAX_TRACKED) this.forgetIdle(now);
    if (!decision.allowed) throw overBudget(decision.retryAfterMs);
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

const overBudget = (retryAfterMs: number) =>
  new ApiError('rate_limit_exceeded', 'Too many requests; slow down.', {
    retryAfterSeconds: retryAfterMs / 1000,
    details: { reason: 'request budget' },
  });
