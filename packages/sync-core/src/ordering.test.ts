import fc from 'fast-check';
import { expect, test } from 'vitest';
import { fcParams } from '../test/fast-check.ts';
import { compareNotes, sortNotes, type OrderedNote } from './ordering.ts';

const note = (id: string, updatedAt: string | number, isPinned = false): OrderedNote => ({
  id,
  updatedAt,
  isPinned,
});

test.each<{ name: string; notes: OrderedNote[]; order: string[] }>([
  {
    name: 'a pinned note comes before a newer unpinned one',
    notes: [note('new', '2026-11-20T12:00:00.000Z'), note('pinned', '2020-01-01T00:00:00.000Z', true)],
    order: ['pinned', 'new'],
  },
  {
    name: 'the most recently updated note comes first',
    notes: [note('old', '2026-11-20T11:00:00.000Z'), note('new', '2026-11-20T12:00:00.000Z')],
    order: ['new', 'old'],
  },
  {
    name: 'pinned notes are ordered among themselves by update time',
    notes: [
      note('pin-old', '2026-11-19T00:00:00.000Z', true),
      note('plain', '2026-11-21T00:00:00.000Z'),
      note('pin-new', '2026-11-20T00:00:00.000Z', true),
    ],
    order: ['pin-new', 'pin-old', 'plain'],
  },
  {
    name: 'notes updated at the same instant are ordered by id',
    notes: [note('note_b', '2026-11-20T12:00:00.000Z'), note('note_a', '2026-11-20T12:00:00Z')],
    order: ['note_a', 'note_b'],
  },
  {
    name: 'times are compared as instants, not as text',
    notes: [note('utc', '2026-11-20T11:30:00.000Z'), note('paris', '2026-11-20T12:00:00.000+01:00')],
    order: ['utc', 'paris'],
  },
  {
    name: 'epoch milliseconds and ISO strings compare alike',
    notes: [note('iso', '2026-11-20T12:00:00.000Z'), note('ms', Date.parse('2026-11-20T12:00:01.000Z'))],
    order: ['ms', 'iso'],
  },
  {
    name: 'a note whose time cannot be read is listed last',
    notes: [note('broken', 'yesterday-ish'), note('ok', '2001-01-01T00:00:00.000Z')],
    order: ['ok', 'broken'],
  },
  {
    name: 'ids compare by code unit, the same in every locale',
    notes: [note('a', 0), note('B', 0), note('b', 0), note('A', 0)],
    order: ['A', 'B', 'a', 'b'],
  },
])('$name', ({ notes, order }) => {
  expect(sortNotes(notes).map((n) => n.id)).toEqual(order);
  expect(sortNotes([...notes].reverse()).map((n) => n.id)).toEqual(order);
});

test('sorting returns a new array and leaves the input as it was', () => {
  const notes = Object.freeze([note('b', 1), note('a', 2)]);
  const sorted = sortNotes(notes);
  expect(sorted.map((n) => n.id)).toEqual(['a', 'b']);
  expect(notes.map((n) => n.id)).toEqual(['b', 'a']);
});

test('sorting keeps the caller’s note type', () => {
  const sorted = sortNotes([{ ...note('a', 1), content: 'hi' }]);
  expect(sorted[0]!.content).toBe('hi');
});

const instant = fc.integer({ min: 0, max: 5 }).map((n) => Date.UTC(2026, 10, 20, 12, 0, n));
const noteArb: fc.Arbitrary<OrderedNote> = fc.record({
  isPinned: fc.boolean(),
  // Few distinct values, in both forms and with junk, so that ties and mixed kinds are common.
  updatedAt: fc.oneof(
    instant,
    instant.map((ms) => new Date(ms).toISOString()),
    instant.map((ms) => new Date(ms).toISOString().replace('.000Z', 'Z')),
    fc.constantFrom('', 'not a time'),
  ),
  id: fc.constantFrom('a', 'b', 'c', 'A', 'note_1'),
});
const sameKey = (a: OrderedNote, b: OrderedNote) => compareNotes(a, b) === 0;

test('compareNotes is antisymmetric and 0 only for the same pin, instant and id', () => {
  fc.assert(
    fc.property(noteArb, noteArb, (a, b) => {
      expect(Math.sign(compareNotes(a, b)) + Math.sign(compareNotes(b, a))).toBe(0);
      expect(compareNotes(a, a)).toBe(0);
      if (sameKey(a, b)) {
        expect(a.isPinned).toBe(b.isPinned);
        expect(a.id).toBe(b.id);
      }
    }),
    fcParams,
  );
});

test('compareNotes is transitive', () => {
  fc.assert(
    fc.property(noteArb, noteArb, noteArb, (a, b, c) => {
      if (compareNotes(a, b) <= 0 && compareNotes(b, c) <= 0)
        expect(compareNotes(a, c)).toBeLessThanOrEqual(0);
      if (compareNotes(a, b) < 0 && compareNotes(b, c) <= 0) expect(compareNotes(a, c)).toBeLessThan(0);
    }),
    fcParams,
  );
});

test('every client lists the same notes in the same order, whatever order they arrived in', () => {
  fc.assert(
    fc.property(
      fc
        .array(noteArb, { maxLength: 12 })
        .chain((notes) =>
          fc.tuple(fc.constant(notes), fc.shuffledSubarray(notes, { minLength: notes.length })),
        ),
      ([notes, shuffled]) => {
        const a = sortNotes(notes);
        const b = sortNotes(shuffled);
        a.forEach((n, i) => expect(sameKey(n, b[i]!)).toBe(true));
        for (let i = 1; i < a.length; i++) expect(compareNotes(a[i - 1]!, a[i]!)).toBeLessThanOrEqual(0);
      },
    ),
    fcParams,
  );
});
