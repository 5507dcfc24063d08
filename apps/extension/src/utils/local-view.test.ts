import { describe, expect, test } from 'vitest';
import { FAN, note, noteId } from '../test/helpers.ts';
import { buildDelete, buildUpsert } from './edits.ts';
import { displayNotes } from './local-view.ts';
import { emptyView, type FanView, type OutboxEntry } from './model.ts';
import type { UnnumberedMutation } from './outbox.ts';

const view = (notes: ReturnType<typeof note>[]): FanView => ({ ...emptyView(FAN), notes, syncedAt: 'x' });
let nextId = 0;
/** An outbox entry; each is enqueued a second after the previous one. */
const entry = (mutation: UnnumberedMutation): OutboxEntry => ({
  fanId: FAN,
  enqueuedAt: Date.parse('2026-02-01T00:00:00Z') + ++nextId * 1000,
  mutation: { ...mutation, id: nextId },
});

describe('displayNotes', () => {
  test('pinned first, then the most recently updated', () => {
    const notes = displayNotes(
      view([
        note(noteId(1), { updatedAt: '2026-01-01T00:00:00Z' }),
        note(noteId(2), { updatedAt: '2026-01-03T00:00:00Z' }),
        note(noteId(3), { updatedAt: '2026-01-02T00:00:00Z', isPinned: true }),
      ]),
      [],
      FAN,
    );
    expect(notes.map((n) => n.id)).toEqual([noteId(3), noteId(2), noteId(1)]);
  });

  test("a pending note is the signed-in user's: a new one written now, an edited one keeps its author", () => {
    const me = 'cccccccc-0000-4000-8000-000000000003';
    const ana = 'aaaaaaaa-0000-4000-8000-000000000001';
    const server = view([note(noteId(1), { createdBy: ana, updatedBy: ana, version: 2 })]);
    const outbox = [
      entry({ op: 'upsert', noteId: noteId(1), baseVersion: 2, note: { content: 'edited' } }),
      entry({ op: 'upsert', noteId: noteId(9), baseVersion: 0, note: { content: 'new' } }),
    ];
    const notes = displayNotes(server, outbox, FAN, me);
    const edited = notes.find((n) => n.id === noteId(1));
    const created = notes.find((n) => n.id === noteId(9));
    expect([edited?.createdBy, edited?.updatedBy, edited?.createdAt]).toEqual([
      ana,
      me,
      '2026-01-01T00:00:00.000Z',
    ]);
    expect([created?.createdBy, created?.updatedBy, created?.createdAt]).toEqual([
      me,
      me,
      outbox[1]!.enqueuedAt,
    ]);
  });

  test('pending changes are shown on top of the server state, marked pending', () => {
    const server = view([note(noteId(1), { content: 'old', color: '#F04438', version: 4 }), note(noteId(2))]);
    const outbox = [
      entry({ op: 'upsert', noteId: noteId(1), baseVersion: 4, note: { content: 'new' } }),
      entry({ op: 'delete', noteId: noteId(2), baseVersion: 1 }),
      entry({
        op: 'upsert',
        noteId: noteId(3),
        baseVersion: 0,
        note: { content: 'offline', type: 'payment' },
      }),
      {
        ...entry({ op: 'upsert', noteId: noteId(4), baseVersion: 0, note: { content: 'another fan' } }),
        fanId: '999',
      },
    ];
    const notes = displayNotes(server, outbox, FAN);
    expect(notes.map((n) => [n.id, n.content, n.pending])).toEqual([
      [noteId(3), 'offline', true],
      [noteId(1), 'new', true],
    ]);
    expect(notes[1]!.color).toBe('#F04438');
    expect(notes[0]!.type).toBe('payment');
  });

  test('a conflict copy is listed under the note it conflicts with', () => {
    const notes = displayNotes(
      view([
        note(noteId(1), { content: 'theirs' }),
        note(noteId(2), { content: 'mine', conflictOf: noteId(1) }),
      ]),
      [],
      FAN,
    );
    expect(notes).toHaveLength(1);
    expect(notes[0]!.conflicts.map((c) => c.content)).toEqual(['mine']);
  });
});

describe('edits', () => {
  const server = view([note(noteId(1), { content: 'seen', version: 7 })]);

  test('an edit is based on the version the server last sent; a create on 0', () => {
    expect(buildUpsert(server, [], FAN, noteId(1), { content: 'edited' }, () => noteId(9))).toEqual({
      op: 'upsert',
      noteId: noteId(1),
      baseVersion: 7,
      note: { content: 'edited' },
    });
    expect(
      buildUpsert(server, [], FAN, undefined, { content: 'new', isPinned: true }, () => noteId(9)),
    ).toEqual({
      op: 'upsert',
      noteId: noteId(9),
      baseVersion: 0,
      note: { content: 'new', isPinned: true },
    });
    expect(buildDelete(server, [], noteId(1))).toEqual({ op: 'delete', noteId: noteId(1), baseVersion: 7 });
  });

  test('pinning sends no text, so it can never make a conflict copy', () => {
    const pin = buildUpsert(server, [], FAN, noteId(1), { isPinned: true }, () => noteId(9));
    expect(pin).toEqual({ op: 'upsert', noteId: noteId(1), baseVersion: 7, note: { isPinned: true } });
  });

  test('an edit stacked on a queued edit keeps its base, even after a newer version arrived', () => {
    const outbox = [
      entry({ op: 'upsert', noteId: noteId(1), baseVersion: 3, note: { content: 'edited offline' } }),
    ];
    // The server sent version 7 (a teammate's text) while our edit was queued: we never saw it.
    const again = buildUpsert(server, outbox, FAN, noteId(1), { content: 'edited again' }, () => noteId(9));
    expect(again).toMatchObject({ baseVersion: 3 });
    expect(buildDelete(server, outbox, noteId(1))).toMatchObject({ baseVersion: 3 });
  });

  test('editing a note that is gone is refused', () => {
    expect(() => buildUpsert(server, [], FAN, noteId(5), { isPinned: true }, () => noteId(9))).toThrow(
      'no longer exists',
    );
  });
});
