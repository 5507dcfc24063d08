import fc from 'fast-check';
import { expect, test } from 'vitest';
import { fcParams } from '../test/fast-check.ts';
import { decodeCursor, decodeCursorPosition, encodeCursor, encodeCursorPosition } from './cursor.ts';

test.each([
  { name: 'a fan with no notes yet', version: 0, cursor: 'v1.0' },
  { name: 'an early version', version: 35, cursor: 'v1.z' },
  { name: 'a version past one digit', version: 36, cursor: 'v1.10' },
  { name: 'the largest safe version', version: Number.MAX_SAFE_INTEGER, cursor: 'v1.2gosa7pa2gv' },
])('a cursor for $name is short and URL-safe', ({ version, cursor }) => {
  expect(encodeCursor(version)).toBe(cursor);
  expect(encodeURIComponent(cursor)).toBe(cursor);
  expect(decodeCursor(cursor)).toBe(version);
});

test.each([
  { name: 'an empty string', cursor: '' },
  { name: 'a bare version number', cursor: '12' },
  { name: 'a timestamp', cursor: '2026-11-20T12:00:00.000Z' },
  { name: 'another format version', cursor: 'v2.1' },
  { name: 'upper case digits', cursor: 'v1.Z' },
  { name: 'a leading zero', cursor: 'v1.01' },
  { name: 'a negative version', cursor: 'v1.-1' },
  { name: 'a fractional version', cursor: 'v1.1.5' },
  { name: 'a version past MAX_SAFE_INTEGER', cursor: 'v1.2gosa7pa2gw' },
  { name: 'a version far past MAX_SAFE_INTEGER', cursor: 'v1.zzzzzzzzzzzzzzzzzzzz' },
  { name: 'trailing whitespace', cursor: 'v1.a ' },
  { name: 'a prefix with nothing after it', cursor: 'v1.' },
])('$name is not a cursor', ({ cursor }) => {
  expect(decodeCursor(cursor)).toBeNull();
});

test.each([-1, 1.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN, Number.POSITIVE_INFINITY])(
  'encoding the impossible version %d is refused as a bug',
  (version) => {
    expect(() => encodeCursor(version)).toThrow(RangeError);
  },
);

test('every version comes back from its cursor', () => {
  fc.assert(
    fc.property(fc.maxSafeNat(), (version) => {
      expect(decodeCursor(encodeCursor(version))).toBe(version);
    }),
    fcParams,
  );
});

test('later versions never share a cursor with earlier ones', () => {
  fc.assert(
    fc.property(fc.maxSafeNat(), fc.maxSafeNat(), (a, b) => {
      expect(encodeCursor(a) === encodeCursor(b)).toBe(a === b);
    }),
    fcParams,
  );
});

test('decoding any string never throws, and only cursors made by encodeCursor decode', () => {
  const cursorLike = fc.oneof(
    fc.string(),
    fc.string({ unit: fc.constantFrom(...'v1.0123456789azAZ-_ ') }),
    fc
      .string({ unit: fc.constantFrom(...'0123456789abcdefghijklmnopqrstuvwxyz'), maxLength: 13 })
      .map((s) => `v1.${s}`),
  );
  fc.assert(
    fc.property(cursorLike, (cursor) => {
      const version = decodeCursor(cursor);
      if (version !== null) expect(encodeCursor(version)).toBe(cursor);
    }),
    fcParams,
  );
});

test.each([
  { name: 'a version cursor', position: { version: 7, afterId: null }, cursor: 'v1.7' },
  {
    name: 'a page cut inside a version',
    position: { version: 36, afterId: 'note_7d8e9f1a-0000-4000-8000-456789abcdef' },
    cursor: 'v2.10.note_7d8e9f1a-0000-4000-8000-456789abcdef',
  },
])('$name round-trips as a position', ({ position, cursor }) => {
  expect(encodeCursorPosition(position)).toBe(cursor);
  expect(decodeCursorPosition(cursor)).toEqual(position);
  expect(encodeURIComponent(cursor)).toBe(cursor);
});

test.each([
  'v2.1',
  'v2..note_a',
  'v2.01.note_a',
  'v2.1.note a',
  'v2.1.',
  `v2.1.${'a'.repeat(101)}`,
  'v2.zzzzzzzzzzzzzzzz.note_a',
  'v3.1.note_a',
])('%s is not a position cursor', (cursor) => {
  expect(decodeCursorPosition(cursor)).toBeNull();
});

test('a position cursor is not a version cursor: an older reader resets rather than skipping notes', () => {
  expect(decodeCursor(encodeCursorPosition({ version: 5, afterId: 'note_x' }))).toBeNull();
});

test('every position comes back from its cursor', () => {
  const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,100}$/);
  fc.assert(
    fc.property(fc.maxSafeNat(), fc.option(id, { nil: null }), (version, afterId) => {
      expect(decodeCursorPosition(encodeCursorPosition({ version, afterId }))).toEqual({ version, afterId });
    }),
    fcParams,
  );
});
