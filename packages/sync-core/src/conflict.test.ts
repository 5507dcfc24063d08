import { noteTypes } from '@fannotes/contract';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { fcParams } from '../test/fast-check.ts';
import {
  decideDelete,
  decideUpsert,
  type DeleteDecision,
  type NoteFieldValues,
  type NoteWrite,
  type StoredNote,
  type UpsertDecision,
} from './conflict.ts';

const stored: StoredNote = {
  id: 'note_1',
  content: 'likes cats',
  type: 'preferences',
  color: '#FF0000',
  isPinned: false,
  version: 5,
  deleted: false,
};
const deleted: StoredNote = { ...stored, deleted: true };

test.each<{
  name: string;
  note: StoredNote | undefined;
  baseVersion: number;
  write: NoteWrite;
  decision: UpsertDecision;
}>([
  {
    name: 'a note the server never saw is created with defaults for what the client left out',
    note: undefined,
    baseVersion: 0,
    write: { content: 'hi' },
    decision: { kind: 'create', fields: { content: 'hi', type: 'personal', color: null, isPinned: false } },
  },
  {
    name: 'a new note keeps the type, colour and pin the client chose',
    note: undefined,
    baseVersion: 0,
    write: { content: 'hi', type: 'payment', color: '#00FF00', isPinned: true },
    decision: {
      kind: 'create',
      fields: { content: 'hi', type: 'payment', color: '#00FF00', isPinned: true },
    },
  },
  {
    name: 'an edit based on the current version replaces the text',
    note: stored,
    baseVersion: 5,
    write: { content: 'likes dogs' },
    decision: { kind: 'update', changes: { content: 'likes dogs' } },
  },
  {
    name: 'fields the client left out keep their stored values',
    note: stored,
    baseVersion: 5,
    write: { content: 'likes cats', isPinned: true },
    decision: { kind: 'update', changes: { isPinned: true } },
  },
  {
    name: 'clearing the colour is a change, not an omission',
    note: stored,
    baseVersion: 5,
    write: { content: 'likes cats', color: null },
    decision: { kind: 'update', changes: { color: null } },
  },
  {
    name: 'an edit that changes nothing is a noop',
    note: stored,
    baseVersion: 5,
    write: { content: 'likes cats', type: 'preferences', color: '#FF0000', isPinned: false },
    decision: { kind: 'noop' },
  },
  {
    name: 'a stale pin of unchanged text is applied: pin, colour and type are last writer wins',
    note: stored,
    baseVersion: 3,
    write: { content: 'likes cats', isPinned: true, type: 'other' },
    decision: { kind: 'update', changes: { isPinned: true, type: 'other' } },
  },
  {
    name: 'a stale edit of the text keeps the server’s text and saves the client’s as a copy',
    note: stored,
    baseVersion: 3,
    write: { content: 'likes dogs' },
    decision: {
      kind: 'conflict',
      changes: {},
      copy: { content: 'likes dogs', type: 'preferences', color: '#FF0000', isPinned: false },
    },
  },
  {
    name: 'a stale edit’s colour and pin still apply to the note, and the copy carries them too',
    note: stored,
    baseVersion: 3,
    write: { content: 'likes dogs', color: '#00FF00', isPinned: true },
    decision: {
      kind: 'conflict',
      changes: { color: '#00FF00', isPinned: true },
      copy: { content: 'likes dogs', type: 'preferences', color: '#00FF00', isPinned: true },
    },
  },
  {
    name: 'an edit of a deleted note brings it back with the client’s text',
    note: deleted,
    baseVersion: 5,
    write: { content: 'likes dogs', isPinned: true },
    decision: {
      kind: 'restore',
      fields: { content: 'likes dogs', type: 'preferences', color: '#FF0000', isPinned: true },
    },
  },
  {
    name: 'a stale edit of a deleted note still brings it back',
    note: deleted,
    baseVersion: 1,
    write: { content: 'likes dogs' },
    decision: {
      kind: 'restore',
      fields: { content: 'likes dogs', type: 'preferences', color: '#FF0000', isPinned: false },
    },
  },
])('$name', ({ note, baseVersion, write, decision }) => {
  expect(decideUpsert(note, baseVersion, write)).toEqual(decision);
});

test.each<{ name: string; note: StoredNote | undefined; baseVersion: number; decision: DeleteDecision }>([
  {
    name: 'deleting a note the server never saw is a noop',
    note: undefined,
    baseVersion: 0,
    decision: { kind: 'noop' },
  },
  {
    name: 'deleting a note already deleted is a noop',
    note: deleted,
    baseVersion: 1,
    decision: { kind: 'noop' },
  },
  {
    name: 'deleting the version the client saw deletes the note',
    note: stored,
    baseVersion: 5,
    decision: { kind: 'delete' },
  },
])('$name', ({ note, baseVersion, decision }) => {
  expect(decideDelete(note, baseVersion)).toEqual(decision);
});

test('stale delete of an edited note is rejected', () => {
  expect(decideDelete(stored, 3)).toMatchInlineSnapshot(`
    {
      "kind": "reject",
      "reason": "note was edited after baseVersion 3 (now version 5)",
    }
  `);
});

/** Carries a decision out the way the API does: every change stamps the note with a new version. */
function applyUpsert(
  note: StoredNote | undefined,
  decision: UpsertDecision,
  version: number,
): { note: StoredNote | undefined; copy: NoteFieldValues | null } {
  switch (decision.kind) {
    case 'create':
      return { note: { id: 'note_1', ...decision.fields, version, deleted: false }, copy: null };
    case 'update':
      return { note: { ...note!, ...decision.changes, version }, copy: null };
    case 'restore':
      return { note: { ...note!, ...decision.fields, version, deleted: false }, copy: null };
    case 'reject':
      return { note, copy: null };
    case 'conflict':
      return { note: { ...note!, ...decision.changes, version }, copy: decision.copy };
    case 'noop':
      return { note, copy: null };
  }
}

const contentArb = fc.constantFrom('likes cats', 'likes dogs', 'tips on Fridays');
const colorArb = fc.constantFrom(null, '#FF0000', '#00FF00');
const storedArb: fc.Arbitrary<StoredNote | undefined> = fc.option(
  fc.record({
    id: fc.constant('note_1'),
    content: contentArb,
    type: fc.constantFrom(...noteTypes),
    color: colorArb,
    isPinned: fc.boolean(),
    version: fc.integer({ min: 1, max: 6 }),
    deleted: fc.boolean(),
  }),
  { nil: undefined },
);
const writeArb: fc.Arbitrary<NoteWrite> = fc.record(
  { content: contentArb, type: fc.constantFrom(...noteTypes), color: colorArb, isPinned: fc.boolean() },
  { requiredKeys: ['content'] },
);
const baseArb = fc.integer({ min: 0, max: 7 });

test('the client’s text always ends up in the note or in its conflict copy', () => {
  fc.assert(
    fc.property(storedArb, baseArb, writeArb, (note, baseVersion, write) => {
      const after = applyUpsert(note, decideUpsert(note, baseVersion, write), 99);
      expect([after.note?.content, after.copy?.content]).toContain(write.content);
      expect(after.note?.deleted).toBe(false);
    }),
    fcParams,
  );
});

test('the type, colour and pin a client sets end up on the note, whatever version it saw', () => {
  fc.assert(
    fc.property(storedArb, baseArb, writeArb, (note, baseVersion, write) => {
      const after = applyUpsert(note, decideUpsert(note, baseVersion, write), 99).note!;
      if (write.type !== undefined) expect(after.type).toBe(write.type);
      if (write.color !== undefined) expect(after.color).toBe(write.color);
      if (write.isPinned !== undefined) expect(after.isPinned).toBe(write.isPinned);
    }),
    fcParams,
  );
});

test('a live note’s text is only replaced by a client that had seen it', () => {
  fc.assert(
    fc.property(storedArb, baseArb, writeArb, (note, baseVersion, write) => {
      fc.pre(note !== undefined && !note.deleted);
      const after = applyUpsert(note, decideUpsert(note, baseVersion, write), 99).note!;
      if (after.content !== note.content) expect(baseVersion).toBeGreaterThanOrEqual(note.version);
    }),
    fcParams,
  );
});

test('an update lists only fields that change, and a write that changes nothing is a noop', () => {
  fc.assert(
    fc.property(storedArb, baseArb, writeArb, (note, baseVersion, write) => {
      const decision = decideUpsert(note, baseVersion, write);
      if (decision.kind === 'update') {
        expect(Object.keys(decision.changes).length).toBeGreaterThan(0);
        for (const [field, value] of Object.entries(decision.changes)) {
          expect(note![field as keyof StoredNote]).not.toBe(value);
        }
      }
      if (decision.kind === 'conflict') {
        expect(decision.changes).not.toHaveProperty('content');
        expect(decision.copy.content).not.toBe(note!.content);
      }
      const after = applyUpsert(note, decision, 99);
      const { version: _a, ...before } = note ?? { version: 0 };
      const { version: _b, ...afterNote } = after.note!;
      const unchanged =
        note !== undefined && JSON.stringify(before) === JSON.stringify(afterNote) && !after.copy;
      expect(decision.kind === 'noop').toBe(unchanged);
    }),
    fcParams,
  );
});

test('a delete never throws away an edit its client had not seen', () => {
  fc.assert(
    fc.property(storedArb, baseArb, (note, baseVersion) => {
      const decision = decideDelete(note, baseVersion);
      if (decision.kind === 'delete') expect(baseVersion).toBeGreaterThanOrEqual(note!.version);
      if (decision.kind === 'noop') expect(note === undefined || note.deleted).toBe(true);
      if (decision.kind === 'reject') expect(baseVersion).toBeLessThan(note!.version);
    }),
    fcParams,
  );
});

test('clients editing one note concurrently never silently lose an accepted text', () => {
  // Reference model: one note, three clients that each remember the version and text they last saw.
  // A text may leave the note only when a client that had seen it replaces or deletes it.
  const opArb = fc.record({
    client: fc.integer({ min: 0, max: 2 }),
    kind: fc.constantFrom('edit', 'restyle', 'delete', 'refresh'),
    write: writeArb,
  });
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 30 }), (ops) => {
      let note: StoredNote | undefined;
      let version = 0;
      const seen = [0, 0, 0].map(() => ({ version: 0, content: 'likes cats' }));
      const accepted: string[] = [];
      const copies: string[] = [];
      const knowinglyDropped = new Set<string>();
      ops.forEach((op, step) => {
        const view = seen[op.client]!;
        if (op.kind === 'refresh') {
          if (note) Object.assign(view, { version: note.version, content: note.content });
          return;
        }
        if (op.kind === 'delete') {
          const decision = decideDelete(note, view.version);
          if (decision.kind === 'delete') {
            knowinglyDropped.add(note!.content);
            note = { ...note!, deleted: true, version: ++version };
          }
          return;
        }
        const content = op.kind === 'edit' ? `text ${step}` : view.content;
        const decision = decideUpsert(note, view.version, { ...op.write, content });
        if (decision.kind === 'noop') return;
        accepted.push(content);
        if (decision.kind === 'update' && decision.changes.content !== undefined)
          knowinglyDropped.add(note!.content);
        const after = applyUpsert(note, decision, ++version);
        note = after.note;
        if (after.copy) copies.push(after.copy.content);
        Object.assign(view, { version: note!.version, content: note!.content });
      });
      const kept = new Set([...copies, ...(note && !note.deleted ? [note.content] : [])]);
      for (const text of accepted) expect(kept.has(text) || knowinglyDropped.has(text)).toBe(true);
    }),
    fcParams,
  );
});

test('a restyle without text, based on an old version, never makes a conflict copy', () => {
  expect(decideUpsert(stored, 1, { isPinned: true, color: '#112233' })).toEqual({
    kind: 'update',
    changes: { isPinned: true, color: '#112233' },
  });
});

test('a restyle without text of a missing or deleted note is rejected', () => {
  expect(decideUpsert(undefined, 0, { isPinned: true })).toEqual({
    kind: 'reject',
    reason: 'note not found',
  });
  expect(decideUpsert({ ...stored, deleted: true }, 9, { isPinned: true })).toEqual({
    kind: 'reject',
    reason: 'note was deleted',
  });
});
