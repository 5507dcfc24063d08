import { expect, test } from 'vitest';
import { MEMBERSHIP_TTL_MS, SyncHints } from './sync-hints.ts';

const fan = { accountId: 'x', fanId: '777' };

test('a fan seen synced within the interval is likely throttled; before it, after it or never seen, not', () => {
  const hints = new SyncHints();
  expect(hints.likelyThrottled('a', { fanId: '777' }, 100_000, 30_000)).toBe(false);
  hints.saw('a', fan, new Date(100_000), 100_000);
  expect(hints.likelyThrottled('a', { fanId: '777' }, 100_000, 30_000)).toBe(true);
  expect(hints.likelyThrottled('a', { fanId: '777', accountId: 'x' }, 129_999, 30_000)).toBe(true);
  expect(hints.likelyThrottled('a', { fanId: '777' }, 130_000, 30_000)).toBe(false);
  // A stamp ahead of this clock says nothing sure: the statement decides.
  expect(hints.likelyThrottled('a', { fanId: '777' }, 99_999, 30_000)).toBe(false);
  // Never synced: due.
  hints.saw('a', fan, null, 100_000);
  expect(hints.likelyThrottled('a', { fanId: '777' }, 100_000, 30_000)).toBe(false);
});

test("a teammate's sync hints the fan to members of its account seen lately, and to no one else", () => {
  const hints = new SyncHints();
  hints.saw('b', { accountId: 'x', fanId: '1' }, new Date(0), 0); // b: a member of x
  hints.saw('c', { accountId: 'y', fanId: '1' }, new Date(0), 0); // c: of y, the same fan id there
  hints.saw('a', fan, new Date(1_000), 1_000); // a syncs fan 777 of x
  expect(hints.likelyThrottled('b', { fanId: '777' }, 2_000, 30_000)).toBe(true);
  expect(hints.likelyThrottled('b', { fanId: '777', accountId: 'x' }, 2_000, 30_000)).toBe(true);
  // Another account's members, or a stranger, learn nothing of x's fan (c has no fan 777 synced in y).
  expect(hints.likelyThrottled('c', { fanId: '777' }, 2_000, 30_000)).toBe(false);
  expect(hints.likelyThrottled('c', { fanId: '777', accountId: 'x' }, 2_000, 30_000)).toBe(false);
  expect(hints.likelyThrottled('stranger', { fanId: '777', accountId: 'x' }, 2_000, 30_000)).toBe(false);
  // A member last seen in x longer ago than the TTL is no longer taken for one.
  expect(hints.likelyThrottled('b', { fanId: '777' }, MEMBERSHIP_TTL_MS + 1, 600_000)).toBe(false);
  // Fan 1 of y says nothing of fan 1 of x, and the other way round.
  hints.saw('c', { accountId: 'y', fanId: '1' }, null, 3_000);
  expect(hints.likelyThrottled('b', { fanId: '1' }, 3_000, 30_000)).toBe(true);
  expect(hints.likelyThrottled('c', { fanId: '1' }, 3_000, 30_000)).toBe(false);
});

test('the oldest hint goes first past the capacity', () => {
  const hints = new SyncHints(2);
  hints.saw('a', { accountId: 'x', fanId: '1' }, new Date(0), 0);
  hints.saw('a', { accountId: 'x', fanId: '2' }, new Date(0), 0);
  hints.saw('a', { accountId: 'x', fanId: '3' }, new Date(0), 0);
  expect(hints.likelyThrottled('a', { fanId: '1' }, 0, 1_000)).toBe(false);
  expect(hints.likelyThrottled('a', { fanId: '3' }, 0, 1_000)).toBe(true);
});
