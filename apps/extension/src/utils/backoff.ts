/** First retry after about a second, doubling, never more than five minutes apart. */
export const BACKOFF_BASE_MS = 1_000;
export const BACKOFF_MAX_MS = 5 * 60_000;

/**
 * How long to wait before attempt `attempt + 1`, after `attempt` failures in a row (1 or more).
 * Without a server hint: "equal jitter", a random point in the upper half of the exponential step, so
 * that many clients that failed together do not come back together, and no wait is ever near zero.
 * With `Retry-After` (409, 429, 503): never earlier than the server asked, plus up to 20 % (at most a
 * second) of jitter for the same reason. `random` is in [0, 1).
 */
export function retryDelay(attempt: number, retryAfterMs: number | null, random: number): number {
  if (retryAfterMs !== null) return retryAfterMs + Math.floor(random * Math.min(1_000, retryAfterMs * 0.2));
  const step = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.floor(step / 2 + (random * step) / 2);
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: number): number | null {
  if (!value) return null;
  const text = value.trim();
  if (/^[0-9]+$/.test(text)) return Math.min(Number(text), 24 * 3600) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}
