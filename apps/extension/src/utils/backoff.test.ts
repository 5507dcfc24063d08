import { expect, test } from 'vitest';
import { BACKOFF_MAX_MS, parseRetryAfter, retryDelay } from './backoff.ts';

test('backoff doubles from about a second, stays in the upper half of each step, and is capped', () => {
  expect([1, 2, 3, 4].map((attempt) => retryDelay(attempt, null, 0))).toEqual([500, 1000, 2000, 4000]);
  expect([1, 2, 3, 4].map((attempt) => retryDelay(attempt, null, 0.999))).toEqual([999, 1999, 3998, 7996]);
  expect(retryDelay(50, null, 0.999)).toBeLessThan(BACKOFF_MAX_MS);
  expect(retryDelay(50, null, 0)).toBe(BACKOFF_MAX_MS / 2);
});

test('Retry-After is a floor: never earlier, at most a second of jitter later', () => {
  expect(retryDelay(1, 2_000, 0)).toBe(2_000);
  expect(retryDelay(9, 2_000, 0.999)).toBe(2_399);
  expect(retryDelay(1, 30_000, 0.999)).toBe(30_999);
});

test('Retry-After as seconds or an HTTP date', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  expect(parseRetryAfter('3', now)).toBe(3_000);
  expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5_000);
  expect(parseRetryAfter(null, now)).toBeNull();
  expect(parseRetryAfter('soon', now)).toBeNull();
});
