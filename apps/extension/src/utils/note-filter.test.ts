import { expect, test } from 'vitest';
import type { DisplayNote } from './local-view.ts';
import { countNotes, filterNotes } from './note-filter.ts';

const note = (id: string, content: string, fields: Partial<DisplayNote> = {}): DisplayNote => ({
  id,
  content,
  type: 'personal',
  color: null,
  isPinned: false,
  source: 'onlyautomator',
  conflictOf: null,
  updatedAt: 0,
  createdAt: 0,
  createdBy: null,
  updatedBy: null,
  pending: false,
  conflicts: [],
  ...fields,
});

const notes = [
  note('1', 'Loves gym content; ask about his marathon', { type: 'preferences', createdBy: 'ana' }),
  note('2', 'Tips on Fridays after payday', { type: 'payment' }),
  note('3', 'Birthday 14 May', {
    conflicts: [note('3c', 'Birthday is in June, not May', { conflictOf: '3' })],
  }),
  note('4', 'Prefers Café talk'),
];
const ids = (list: DisplayNote[]) => list.map((n) => n.id);

test('every word must appear, in any order and case', () => {
  expect(ids(filterNotes(notes, 'MARATHON gym'))).toEqual(['1']);
  expect(ids(filterNotes(notes, 'gym payday'))).toEqual([]);
});

test('type and author name match too; accents are ignored', () => {
  expect(ids(filterNotes(notes, 'payment'))).toEqual(['2']);
  expect(ids(filterNotes(notes, 'ana', (n) => (n.createdBy === 'ana' ? 'Ana' : null)))).toEqual(['1']);
  expect(ids(filterNotes(notes, 'cafe'))).toEqual(['4']);
});

test('a conflict copy that matches keeps its original, with the copies', () => {
  const [kept] = filterNotes(notes, 'june');
  expect(kept?.id).toBe('3');
  expect(kept?.conflicts.map((c) => c.id)).toEqual(['3c']);
});

test('an empty query keeps everything; copies count as notes', () => {
  expect(ids(filterNotes(notes, '  '))).toEqual(['1', '2', '3', '4']);
  expect(countNotes(notes)).toBe(5);
});
