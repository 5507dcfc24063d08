import { describe, expect, expectTypeOf, test } from 'vitest';
import type { Note } from './notes.ts';
import { MAX_NOTE_LENGTH, UpdateNoteInput } from './notes.ts';

const valid = { fanId: '12345', content: 'Likes gym content' };

describe('UpdateNoteInput', () => {
  test.each([
    ['trims the content', { ...valid, content: '  hi  ' }, { content: 'hi' }],
    ['upper-cases the colour', { ...valid, color: '#00aff0' }, { color: '#00AFF0' }],
    [
      'lower-cases a note id',
      { ...valid, noteId: 'note_7D8E9F1A-0000-4000-8000-456789ABCDEF' },
      {
        noteId: 'note_7d8e9f1a-0000-4000-8000-456789abcdef',
      },
    ],
    ['accepts a null colour (clears it)', { ...valid, color: null }, { color: null }],
  ])('%s', (_name, input, expected) => {
    expect(UpdateNoteInput.parse(input)).toMatchObject(expected);
  });

  test.each([
    ['whitespace-only content', { ...valid, content: '   ' }, 'content must not be empty'],
    ['zero-width spaces only', { ...valid, content: ' \u200B\u200B ' }, 'must contain a visible character'],
    [
      'only invisible characters (word joiner, BOM, soft hyphen, variation selector, Hangul filler)',
      { ...valid, content: '\u2060\uFEFF\u00AD\uFE0F\u3164' },
      'must contain a visible character',
    ],
    ['only a line and paragraph separator', { ...valid, content: '\u2028\u2029' }, 'must not be empty'],
    ['content over the limit', { ...valid, content: 'x'.repeat(MAX_NOTE_LENGTH + 1) }, 'at most 5000'],
    ['a NUL character', { ...valid, content: 'a\u0000b' }, 'NUL'],
    ['a lone surrogate', { ...valid, content: 'a\uD800b' }, 'valid Unicode'],
    ['a colour name', { ...valid, color: 'red' }, '#RRGGBB'],
    ['an unknown type', { ...valid, type: 'secret' }, 'Invalid option'],
    ['a non-numeric fan id', { ...valid, fanId: 'abc' }, 'OnlyFans user id'],
    ['a numeric (not string) fan id', { ...valid, fanId: 12345 }, 'expected string'],
    ['an unknown field', { ...valid, colour: '#000000' }, 'Unrecognized key'],
    ['a malformed note id', { ...valid, noteId: 'note_1' }, 'note_<uuid>'],
  ])('refuses %s', (_name, input, message) => {
    const result = UpdateNoteInput.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.message).join('; ')).toContain(message);
  });

  test('text with one visible character among invisible ones is kept as typed', () => {
    for (const content of ['\u200Bhi', '❤️', 'a\u200Db', '\u3164x', '.']) {
      expect(UpdateNoteInput.parse({ ...valid, content }).content).toBe(content);
    }
  });

  test('the length limit counts characters, not UTF-16 units', () => {
    expect(UpdateNoteInput.safeParse({ ...valid, content: '💪'.repeat(MAX_NOTE_LENGTH) }).success).toBe(true);
    expect(UpdateNoteInput.safeParse({ ...valid, content: '💪'.repeat(MAX_NOTE_LENGTH + 1) }).success).toBe(
      false,
    );
  });

  test('the inferred note type has the documented fields', () => {
    expectTypeOf<Note>().toHaveProperty('fanId').toEqualTypeOf<string>();
    expectTypeOf<Note>().toHaveProperty('isPinned').toEqualTypeOf<boolean>();
    expectTypeOf<Note>().toHaveProperty('color').toEqualTypeOf<string | null>();
    expectTypeOf<Note['type']>().toEqualTypeOf<
      'personal' | 'preferences' | 'payment' | 'content' | 'other'
    >();
  });
});
