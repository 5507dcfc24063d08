import fc from 'fast-check';
import { expect, test } from 'vitest';
import { isoTimestamp } from './serialize.ts';

const pad = (value: number, width: number) => String(value).padStart(width, '0');

/** A moment as PostgreSQL prints a `timestamptz` in UTC: the fraction without trailing zeros, none when it is zero. */
function pgText(date: Date, micros: number): string {
  const fraction = pad(date.getUTCMilliseconds() * 1000 + micros, 6).replace(/0+$/, '');
  return (
    `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)} ` +
    `${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}` +
    `${fraction ? `.${fraction}` : ''}+00`
  );
}

test("PostgreSQL's UTC text becomes the ISO string drizzle's Date would give, for any moment of years 1000-9999", () => {
  fc.assert(
    fc.property(
      fc.date({
        min: new Date('1000-01-01T00:00:00Z'),
        max: new Date('9999-12-31T23:59:59.999Z'),
        noInvalidDate: true,
      }),
      fc.integer({ min: 0, max: 999 }),
      (date, micros) => {
        const text = pgText(date, micros);
        expect(isoTimestamp(text)).toBe(new Date(text).toISOString());
        expect(isoTimestamp(text)).toBe(date.toISOString());
      },
    ),
    { numRuns: 2_000 },
  );
  expect(isoTimestamp('2026-12-04 10:00:00+00')).toBe('2026-12-04T10:00:00.000Z');
  expect(isoTimestamp('2026-12-04 10:00:00.5+00')).toBe('2026-12-04T10:00:00.500Z');
  expect(isoTimestamp('2026-12-04 10:00:00.123999+00')).toBe('2026-12-04T10:00:00.123Z');
});

test('any other offset, or a Date, is read as a Date', () => {
  expect(isoTimestamp('2026-12-04 12:30:00.25+02:30')).toBe('2026-12-04T10:00:00.250Z');
  expect(isoTimestamp('2026-12-04 05:00:00-05')).toBe('2026-12-04T10:00:00.000Z');
  expect(isoTimestamp(new Date('2026-12-04T10:00:00.007Z'))).toBe('2026-12-04T10:00:00.007Z');
});
