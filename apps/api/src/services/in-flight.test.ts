import { expect, test } from 'vitest';
import { ApiError } from '../errors.ts';
import { InFlightLimit } from './in-flight.ts';

test('a user may run `max` requests at once; the next is 429 with Retry-After until one ends', () => {
  const limit = new InFlightLimit(2);
  const first = limit.enter('ana');
  limit.enter('ana');
  let refused: unknown;
  try {
    limit.enter('ana');
  } catch (error) {
    refused = error;
  }
  expect(refused).toBeInstanceOf(ApiError);
  expect(refused).toMatchObject({ apiCode: 'rate_limit_exceeded', httpStatus: 429, retryAfterSeconds: 1 });
  // Another user is not affected.
  expect(() => limit.enter('ben')).not.toThrow();
  first();
  expect(() => limit.enter('ana')).not.toThrow();
});

test('releasing twice frees one slot only, and idle users are forgotten', () => {
  const limit = new InFlightLimit(1);
  const release = limit.enter('ana');
  release();
  release();
  const again = limit.enter('ana');
  expect(() => limit.enter('ana')).toThrow(ApiError);
  again();
  expect(limit.size).toBe(0);
});

test('0 turns the limit off', () => {
  const limit = new InFlightLimit(0);
  for (let i = 0; i < 100; i++) limit.enter('ana');
  expect(limit.size).toBe(0);
});
