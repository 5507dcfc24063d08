import { expect, test } from 'vitest';
import { hintKey, SyncHints } from './sync-hints.ts';

const key = hintKey('user', { fanId: '777' });

test('a fan seen synced within the interval is likely throttled; before it, after it or never seen, not', () => {
  const hints = new SyncHints();
  expect(hints.likelyThrottled(key, 100_000, 30_000)).toBe(false);
  hints.saw(key, new Date(100_000));
  expect(hints.likelyThrottled(key, 100_000, 30_000)).toBe(true);
  expect(hints.likelyThrottled(key, 129_999, 30_000)).toBe(true);
  expect(hints.likelyThrottled(key, 130_000, 30_000)).toBe(false);
  // A stamp ahead of this clock says nothing sure: the statement decides.
  expect(hints.likelyThrottled(key, 99_999, 30_000)).toBe(false);
  // Never synced: due.
  hints.saw(key, null);
  expect(hints.likelyThrottled(key, 100_000, 30_000)).toBe(false);
});

test('hints are per user and account, and the oldest goes first past the capacity', () => {
  const hints = new SyncHints(2);
  hints.saw(hintKey('a', { fanId: '1' }), new Date(0));
  expect(hints.likelyThrottled(hintKey('b', { fanId: '1' }), 0, 1_000)).toBe(false);
  expect(hints.likelyThrottled(hintKey('a', { fanId: '1', accountId: 'x' }), 0, 1_000)).toBe(false);
  hints.saw(hintKey('a', { fanId: '2' }), new Date(0));
  hints.saw(hintKey('a', { fanId: '3' }), new Date(0));
  expect(hints.likelyThrottled(hintKey('a', { fanId: '1' }), 0, 1_000)).toBe(false);
  expect(hints.likelyThrottled(hintKey('a', { fanId: '3' }), 0, 1_000)).toBe(true);
});
