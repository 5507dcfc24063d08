import type { Mutation } from '@fannotes/contract';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { fcParams } from '../test/fast-check.ts';
import { applyChanges, type ApplyInput, type ServerNote } from './apply.ts';

// The cap on a fan's live notes, as applyChanges keeps it: nothing past the cap comes to life, and
// `liveDelta` is exactly how the number of live notes moved.

const note = (id: string, extra: Partial<ServerNote> = {}): ServerNote => ({
  id,
  content: `text of ${id}`,
  type: 'personal',
  color: null,
  isPinned: false,
  source: 'onlyautomator',
  onlyFansNoteId: null,
  importedContent: null,
  conflictOf: null,
  version: 1,
  contentVersion: 1,
  contentClientId: null,
  deleted: false,
  ...extra,
});

function apply(notes: ServerNote[], mutations: Mutation[], extra: Partial<ApplyInput> = {}) {
  let made = 0;
  return applyChanges({
    notes: new Map(notes.map((n) => [n.id, n])),
    foreignNoteIds: new Set(),
    clientId: 'client-a',
    lastMutationId: 0,
    mutations,
    version: 2,
    newNoteId: () => `note_new${++made}`,
    ...extra,
  });
}

const create = (id: number, noteId: string): Mutation => ({
  id,
  op: 'upsert',
  noteId,
  baseVersion: 0,
  note: { content: `new ${noteId}` },
});
const FULL = 'this fan has 3 notes, the most one fan can have: delete some first';

test.each<{ name: string; stored: ServerNote[]; mutations: Mutation[]; results: string[]; delta: number }>([
  {
    name: 'creates fill the fan up to its cap; the next is rejected, and still counts as processed',
    stored: [note('note_a')],
    mutations: [create(1, 'note_b'), create(2, 'note_c'), create(3, 'note_d')],
    results: ['applied', 'applied', `rejected: ${FULL}`],
    delta: 2,
  },
  {
    name: 'a delete makes room for a create in the same request',
    stored: [note('note_a'), note('note_b'), note('note_c')],
    mutations: [{ id: 1, op: 'delete', noteId: 'note_a', baseVersion: 1 }, create(2, 'note_d')],
    results: ['applied', 'applied'],
    delta: 0,
  },
  {
    name: 'bringing a deleted note back needs room too',
    stored: [note('note_a'), note('note_b'), note('note_c'), note('note_x', { deleted: true })],
    mutations: [{ id: 1, op: 'upsert', noteId: 'note_x', baseVersion: 1, note: { content: 'back' } }],
    results: [`rejected: ${FULL}`],
    delta: 0,
  },
  {
    name: 'a conflict copy needs room: at the cap a stale edit is rejected, and nothing of it applied',
    stored: [note('note_a', { contentVersion: 5, version: 5 }), note('note_b'), note('note_c')],
    mutations: [
      { id: 1, op: 'upsert', noteId: 'note_a', baseVersion: 1, note: { content: 'mine', isPinned: true } },
    ],
    results: [`rejected: ${FULL}`],
    delta: 0,
  },
  {
    name: 'edits of live notes need no room',
    stored: [note('note_a'), note('note_b'), note('note_c')],
    mutations: [{ id: 1, op: 'upsert', noteId: 'note_a', baseVersion: 1, note: { content: 'edited' } }],
    results: ['applied'],
    delta: 0,
  },
])('$name', ({ stored, mutations, results, delta }) => {
  const output = apply(stored, mutations, {
    liveNotes: { count: stored.filter((n) => !n.deleted).length, max: 3 },
  });
  expect(output.results.map((r) => (r.status === 'rejected' ? `rejected: ${r.reason}` : r.status))).toEqual(
    results,
  );
  expect(output.liveDelta).toBe(delta);
  expect(output.lastMutationId).toBe(mutations.length);
  if (results.every((r) => r.startsWith('rejected'))) expect(output.changed.size).toBe(0);
});

test('an OnlyFans note past the cap is left out of the import and counted as skipped', () => {
  const output = apply([note('note_a'), note('note_b')], [], {
    onlyFansSnapshot: {
      notes: [
        { onlyFansNoteId: 'of1', content: 'first' },
        { onlyFansNoteId: 'of2', content: 'second' },
      ],
      complete: true,
    },
    liveNotes: { count: 2, max: 3 },
  });
  expect([...output.changed.values()].map((n) => n.onlyFansNoteId)).toEqual(['of1']);
  expect(output).toMatchObject({ skipped: 1, liveDelta: 1 });
});

test('without a cap nothing is refused, and liveDelta still counts', () => {
  const output = apply([], [create(1, 'note_b'), create(2, 'note_c')]);
  expect(output.results.map((r) => r.status)).toEqual(['applied', 'applied']);
  expect(output).toMatchObject({ liveDelta: 2, skipped: 0 });
});

test('property: liveDelta is exactly the change in live notes, and a fan never goes past its cap', () => {
  const ids = ['note_a', 'note_b', 'note_c', 'note_d', 'note_e'];
  const mutation = fc.oneof(
    fc.record({
      op: fc.constant('upsert' as const),
      noteId: fc.constantFrom(...ids),
      baseVersion: fc.integer({ min: 0, max: 3 }),
      note: fc.record({ content: fc.constantFrom('x', 'y', 'z') }, { requiredKeys: [] }),
    }),
    fc.record({
      op: fc.constant('delete' as const),
      noteId: fc.constantFrom(...ids),
      baseVersion: fc.integer({ min: 0, max: 3 }),
    }),
  );
  const storedNote = fc.record({
    id: fc.constantFrom(...ids),
    deleted: fc.boolean(),
    contentVersion: fc.integer({ min: 1, max: 3 }),
  });
  fc.assert(
    fc.property(
      fc.uniqueArray(storedNote, { selector: (n) => n.id }),
      fc.array(mutation, { maxLength: 8 }),
      fc.integer({ min: 0, max: 6 }),
      (stored, drafts, max) => {
        const notes = stored.map((s) => note(s.id, { deleted: s.deleted, contentVersion: s.contentVersion }));
        const count = notes.filter((n) => !n.deleted).length;
        const mutations = drafts.map((draft, i) => ({ ...draft, id: i + 1 }));
        const output = apply(notes, mutations, { liveNotes: { count, max } });
        const after = new Map(notes.map((n) => [n.id, n]));
        for (const changed of output.changed.values()) after.set(changed.id, changed);
        const live = [...after.values()].filter((n) => !n.deleted).length;
        expect(live - count).toBe(output.liveDelta);
        expect(live).toBeLessThanOrEqual(Math.max(count, max));
      },
    ),
    fcParams,
  );
});

test('a mutation rejected the first time is a duplicate with the same reason when sent again', () => {
  const stored = [note('note_a', { contentVersion: 5, version: 5 })];
  const staleDelete: Mutation = { id: 1, op: 'delete', noteId: 'note_a', baseVersion: 1 };
  const first = apply(stored, [staleDelete]);
  expect(first.results).toEqual([
    { id: 1, noteId: 'note_a', status: 'rejected', reason: expect.stringContaining('edited after') },
  ]);
  const reason = (first.results[0] as { reason: string }).reason;
  // The answer was lost: the client sends it again, now a duplicate.
  const again = apply(stored, [staleDelete, create(2, 'note_b')], {
    lastMutationId: 1,
    earlierRejections: new Map([[1, reason]]),
  });
  expect(again.results).toEqual([
    { id: 1, noteId: 'note_a', status: 'duplicate', reason },
    { id: 2, noteId: 'note_b', status: 'applied' },
  ]);
  // A duplicate that was applied says nothing more.
  expect(apply(stored, [create(2, 'note_b')], { lastMutationId: 2 }).results).toEqual([
    { id: 2, noteId: 'note_b', status: 'duplicate' },
  ]);
});
