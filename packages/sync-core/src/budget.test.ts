import fc from 'fast-check';
import { expect, test } from 'vitest';
import { fcParams } from '../test/fast-check.ts';
import { isBudgetFull, takeFromBudget, type Bucket } from './budget.ts';

const policy = { capacity: 3, refillPerSecond: 1 };

function run(times: number[]): boolean[] {
  let bucket: Bucket | undefined;
  return times.map((now) => {
    const decision = takeFromBudget(bucket, now, policy);
    bucket = decision.bucket;
    return decision.allowed;
  });
}

test.each([
  ['a burst up to the capacity passes, the next request is refused', [0, 0, 0, 0], [true, true, true, false]],
  [
    'one request per refill interval is always allowed',
    [0, 1000, 2000, 3000, 4000],
    [true, true, true, true, true],
  ],
  [
    'after a pause the bucket refills, but never above capacity',
    [0, 0, 0, 60_000, 60_000, 60_000, 60_000],
    [true, true, true, true, true, true, false],
  ],
  [
    'a clock that goes backwards refills nothing',
    [10_000, 10_000, 10_000, 0, 0],
    [true, true, true, false, false],
  ],
])('%s', (_name, times, expected) => {
  expect(run(times)).toEqual(expected);
});

test('a refusal says how long until one request fits', () => {
  const drained = { tokens: 0, updatedAt: 0 };
  const decision = takeFromBudget(drained, 250, policy);
  expect(decision).toMatchObject({ allowed: false, retryAfterMs: 750 });
  expect(takeFromBudget(decision.bucket, 250 + 750, policy).allowed).toBe(true);
});

test('over any window, allowed requests never exceed capacity plus refill', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 5_000 }), { maxLength: 200 }), (gaps) => {
      const times = gaps.reduce<number[]>((acc, gap) => [...acc, (acc.at(-1) ?? 0) + gap], []);
      const allowed = run(times).filter(Boolean).length;
      const span = (times.at(-1) ?? 0) - (times[0] ?? 0);
      expect(allowed).toBeLessThanOrEqual(
        policy.capacity + Math.floor((span / 1000) * policy.refillPerSecond),
      );
    }),
    fcParams,
  );
});

test('an idle bucket is full again and can be forgotten', () => {
  expect(isBudgetFull({ tokens: 0, updatedAt: 0 }, 2_999, policy)).toBe(false);
  expect(isBudgetFull({ tokens: 0, updatedAt: 0 }, 3_000, policy)).toBe(true);
});
