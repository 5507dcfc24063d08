import { expect, test } from 'vitest';
import { defaultThrottlePolicy } from './throttle.ts';

test('by default a fan is synced at most every 30 s, and forced at most every 5 s', () => {
  expect(defaultThrottlePolicy).toEqual({ minIntervalMs: 30_000, forceFloorMs: 5_000 });
});

test('one runner cannot change the default policy under every other runner', () => {
  expect(() => {
    (defaultThrottlePolicy as { minIntervalMs: number }).minIntervalMs = 0;
  }).toThrow(TypeError);
  expect(defaultThrottlePolicy.minIntervalMs).toBe(30_000);
});

test('a custom policy is a new object built from the default', () => {
  const fast = { ...defaultThrottlePolicy, minIntervalMs: 1_000 };
  expect(fast).toEqual({ minIntervalMs: 1_000, forceFloorMs: 5_000 });
  expect(defaultThrottlePolicy.minIntervalMs).toBe(30_000);
});
