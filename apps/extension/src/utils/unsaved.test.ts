import { describe, expect, test } from 'vitest';
import { FAN, note, noteId } from '../test/helpers.ts';
import { emptyView, type UnsavedEdit } from './model.ts';
import { plainReason, summarizeUnsaved } from './unsaved.ts';

const view = { ...emptyView(FAN), notes: [note(noteId(1), { content: 'Tips on   Fridays' })] };
const item = (mutation: UnsavedEdit['mutation'], fields: Partial<UnsavedEdit> = {}): UnsavedEdit => ({
  fanId: FAN,
  mutation,
  enqueuedAt: 0,
  kind: 'refused',
  code: 'permission_denied',
  reason: 'The viewer role cannot write notes or register fans.',
  at: 0,
  ...fields,
});

describe('summarizeUnsaved', () => {
  test('a new note and an edit: their text, to show and copy; a refusal may be tried again', () => {
    const created = item({
      id: 1,
      op: 'upsert',
      noteId: noteId(9),
      baseVersion: 0,
      note: { content: 'New' },
    });
    expect(summarizeUnsaved(created, view)).toMatchObject({ what: 'New note', text: 'New', canRetry: true });
    const edited = item({
      id: 2,
      op: 'upsert',
      noteId: noteId(1),
      baseVersion: 1,
      note: { content: 'Edited' },
    });
    expect(summarizeUnsaved(edited, view)).toMatchObject({ what: 'Edit', text: 'Edited', context: null });
  });

  test('a delete and a restyle say which note, by its text; a rejection is not tried again', () => {
    const deleted = item(
      { id: 3, op: 'delete', noteId: noteId(1), baseVersion: 1 },
      { kind: 'rejected', code: null, reason: 'note was edited after baseVersion 1 (now version 2)' },
    );
    expect(summarizeUnsaved(deleted, view)).toMatchObject({
      what: 'Delete',
      text: null,
      context: 'of “Tips on Fridays”',
      canRetry: false,
    });
    const restyled = item({
      id: 4,
      op: 'upsert',
      noteId: noteId(1),
      baseVersion: 1,
      note: { isPinned: true, color: '#F04438' },
    });
    expect(summarizeUnsaved(restyled, view, () => 'Red').context).toBe(
      'pin, colour Red of “Tips on Fridays”',
    );
    expect(summarizeUnsaved(restyled, null).context).toBe('pin, colour #F04438 of a note');
  });
});

test.each([
  ['refused', 'permission_denied', 'The viewer role cannot write notes.', /read notes but not write them/],
  ['refused', 'resource_not_found', 'Fan not found.', /not in any of your FanNotes accounts\. Ask an owner/],
  ['refused', 'resource_not_found', 'Open your OnlyFans home page once.', /accounts\. Open your OnlyFans/],
  [
    'refused',
    'validation_error',
    'This fan is in several of your accounts: name one',
    /could not tell which/,
  ],
  ['refused', null, 'Open your OnlyFans home page once.', /^Open your OnlyFans home page once\.$/],
  ['refused', 'validation_error', 'something new', /^The FanNotes API refused it: something new$/],
  ['rejected', null, 'note was edited after baseVersion 1 (now version 2)', /changed this note after you/],
  ['rejected', null, 'this fan has 2000 notes, the most one fan can have', /already has 2000 notes/],
  ['rejected', null, 'something else', /^Something else$/],
] as const)('plainReason: %s %s "%s"', (kind, code, reason, expected) => {
  expect(plainReason({ kind, code, reason })).toMatch(expected);
});
