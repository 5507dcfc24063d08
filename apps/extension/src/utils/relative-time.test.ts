import { expect, test } from 'vitest';
import { relativeTime, toEpoch } from './relative-time.ts';

const now = new Date(2026, 5, 15, 12, 0, 0).getTime();
const ago = (ms: number) => relativeTime(now - ms, now);

test('recent times read in minutes and hours', () => {
  expect(ago(0)).toBe('just now');
  expect(ago(44_000)).toBe('just now');
  expect(ago(60_000)).toBe('1 min ago');
  expect(ago(5 * 60_000)).toBe('5 min ago');
  expect(ago(59 * 60_000)).toBe('59 min ago');
  expect(ago(60 * 60_000)).toBe('1 h ago');
  expect(ago(23 * 3_600_000 + 59 * 60_000)).toBe('23 h ago');
});

test('older times read in days, then as a date with the year only when it differs', () => {
  expect(ago(30 * 3_600_000)).toBe('yesterday');
  expect(ago(3 * 86_400_000)).toBe('3 days ago');
  expect(relativeTime(new Date(2026, 2, 3, 9).getTime(), now)).toBe('3 Mar');
  expect(relativeTime(new Date(2025, 11, 24, 9).getTime(), now)).toBe('24 Dec 2025');
});

test("a time ahead of this device's clock reads as just now", () => {
  expect(ago(-120_000)).toBe('just now');
});

test('ISO times and epoch ms are both read; nonsense is null', () => {
  expect(toEpoch('2026-01-01T00:00:00.000Z')).toBe(Date.UTC(2026, 0, 1));
  expect(toEpoch(5)).toBe(5);
  expect(toEpoch('not a time')).toBeNull();
});
