import fc from 'fast-check';
import { expect, test } from 'vitest';
import { fcParams } from '../test/fast-check.ts';
import {
  mergeOnlyFansSnapshot,
  type OnlyFansNoteText,
  type SnapshotAction,
  type StoredOnlyFansNote,
} from './merge.ts';

const note = (
  id: string,
  content: string,
  importedContent = content,
  deleted = false,
): StoredOnlyFansNote => ({
  id,
  onlyFansNoteId: `of-${id}`,
  content,
  importedContent,
  deleted,
});
const onOnlyFans = (id: string, content: string): OnlyFansNoteText => ({
  onlyFansNoteId: `of-${id}`,
  content,
});

test.each<{
  name: string;
  stored: StoredOnlyFansNote[];
  snapshot: OnlyFansNoteText[];
  actions: SnapshotAction[];
}>([
  {
    name: 'a note new on OnlyFans is imported',
    stored: [],
    snapshot: [onOnlyFans('a', 'likes cats')],
    actions: [{ kind: 'create', onlyFansNoteId: 'of-a', content: 'likes cats' }],
  },
  {
    name: 'a note unchanged on OnlyFans is left alone',
    stored: [note('a', 'likes cats')],
    snapshot: [onOnlyFans('a', 'likes cats')],
    actions: [],
  },
  {
    name: 'a CRM edit survives a sync that shows the old OnlyFans text',
    stored: [note('a', 'likes cats and dogs', 'likes cats')],
    snapshot: [onOnlyFans('a', 'likes cats')],
    actions: [],
  },
  {
    name: 'a note changed on OnlyFans and not in the CRM takes OnlyFans’ text',
    stored: [note('a', 'likes cats')],
    snapshot: [onOnlyFans('a', 'likes dogs')],
    actions: [{ kind: 'update', noteId: 'a', content: 'likes dogs' }],
  },
  {
    name: 'OnlyFans catching up with the CRM’s edit only records the import',
    stored: [note('a', 'likes dogs', 'likes cats')],
    snapshot: [onOnlyFans('a', 'likes dogs')],
    actions: [{ kind: 'acknowledge', noteId: 'a', importedContent: 'likes dogs' }],
  },
  {
    name: 'a note changed on both sides keeps the CRM text and copies OnlyFans’ text',
    stored: [note('a', 'likes dogs', 'likes cats')],
    snapshot: [onOnlyFans('a', 'likes birds')],
    actions: [{ kind: 'conflict', noteId: 'a', importedContent: 'likes birds', copyContent: 'likes birds' }],
  },
  {
    name: 'a note deleted in the CRM stays deleted while OnlyFans shows the same text',
    stored: [note('a', 'likes cats', 'likes cats', true)],
    snapshot: [onOnlyFans('a', 'likes cats')],
    actions: [],
  },
  {
    name: 'a note deleted in the CRM comes back when its text changes on OnlyFans',
    stored: [note('a', 'likes cats', 'likes cats', true)],
    snapshot: [onOnlyFans('a', 'likes dogs')],
    actions: [{ kind: 'restore', noteId: 'a', content: 'likes dogs' }],
  },
  {
    name: 'a note deleted on OnlyFans and not edited in the CRM is deleted',
    stored: [note('a', 'likes cats')],
    snapshot: [],
    actions: [{ kind: 'delete', noteId: 'a' }],
  },
  {
    name: 'a note deleted on OnlyFans after a CRM edit is kept as a CRM note',
    stored: [note('a', 'likes dogs', 'likes cats')],
    snapshot: [],
    actions: [{ kind: 'detach', noteId: 'a' }],
  },
  {
    name: 'a note deleted in the CRM and then on OnlyFans lets go of its OnlyFans id',
    stored: [note('a', 'likes cats', 'likes cats', true)],
    snapshot: [],
    actions: [{ kind: 'untie', noteId: 'a' }],
  },
  {
    name: 'when a snapshot names one note twice, the last entry wins',
    stored: [note('a', 'likes cats')],
    snapshot: [onOnlyFans('a', 'likes dogs'), onOnlyFans('b', 'tips'), onOnlyFans('a', 'likes birds')],
    actions: [
      { kind: 'create', onlyFansNoteId: 'of-b', content: 'tips' },
      { kind: 'update', noteId: 'a', content: 'likes birds' },
    ],
  },
  {
    name: 'actions come in snapshot order, then removals in stored order',
    stored: [
      note('x', 'gone'),
      note('a', 'old a'),
      note('y', 'edited', 'gone too'),
      note('z', 'deleted', 'deleted', true),
      note('b', 'old b'),
    ],
    snapshot: [onOnlyFans('b', 'new b'), onOnlyFans('c', 'new c'), onOnlyFans('a', 'new a')],
    actions: [
      { kind: 'update', noteId: 'b', content: 'new b' },
      { kind: 'create', onlyFansNoteId: 'of-c', content: 'new c' },
      { kind: 'update', noteId: 'a', content: 'new a' },
      { kind: 'delete', noteId: 'x' },
      { kind: 'detach', noteId: 'y' },
      { kind: 'untie', noteId: 'z' },
    ],
  },
])('$name', ({ stored, snapshot, actions }) => {
  expect(mergeOnlyFansSnapshot(stored, snapshot)).toEqual(actions);
});

/**
 * The fan's notes in a small model of the database: OnlyFans-sourced ones (tombstones included) and
 * the texts of live CRM ones. A note that lets go of its OnlyFans id leaves `onlyFans`: its text joins
 * `crm` if it is live, and a CRM tombstone is nothing to the merge.
 */
interface Model {
  onlyFans: StoredOnlyFansNote[];
  crm: string[];
}

let created = 0;

/** Carries actions out the way the API does. Fails on an action for an unknown or already-touched note. */
function apply(model: Model, actions: readonly SnapshotAction[]): Model {
  const onlyFans = model.onlyFans.map((n) => ({ ...n }));
  const crm = [...model.crm];
  const touched = new Set<string>();
  const find = (noteId: string) => {
    expect(touched.has(noteId), `two actions for ${noteId}`).toBe(false);
    touched.add(noteId);
    const found = onlyFans.find((n) => n.id === noteId);
    expect(found, `unknown note ${noteId}`).toBeDefined();
    return found!;
  };
  for (const action of actions) {
    switch (action.kind) {
      case 'create': {
        expect(onlyFans.some((n) => n.onlyFansNoteId === action.onlyFansNoteId)).toBe(false);
        const id = `note_new_${++created}`;
        onlyFans.push({
          id,
          onlyFansNoteId: action.onlyFansNoteId,
          content: action.content,
          importedContent: action.content,
          deleted: false,
        });
        break;
      }
      case 'update':
      case 'restore':
        Object.assign(find(action.noteId), {
          content: action.content,
          importedContent: action.content,
          deleted: false,
        });
        break;
      case 'acknowledge':
        find(action.noteId).importedContent = action.importedContent;
        break;
      case 'conflict':
        find(action.noteId).importedContent = action.importedContent;
        crm.push(action.copyContent);
        break;
      case 'delete':
      case 'untie': {
        const untied = find(action.noteId);
        expect(untied.deleted, `${action.kind} of a note deleted before`).toBe(action.kind === 'untie');
        onlyFans.splice(onlyFans.indexOf(untied), 1);
        break;
      }
      case 'detach': {
        const detached = find(action.noteId);
        onlyFans.splice(onlyFans.indexOf(detached), 1);
        crm.push(detached.content);
        break;
      }
    }
  }
  return { onlyFans, crm };
}

const liveTexts = (model: Model) =>
  new Set([...model.onlyFans.filter((n) => !n.deleted).map((n) => n.content), ...model.crm]);
const lastWord = (snapshot: readonly OnlyFansNoteText[]) =>
  new Map(snapshot.map((n) => [n.onlyFansNoteId, n.content]));

// Few ids and texts, so that matches, edits on both sides and duplicates are common.
const ofIdArb = fc.constantFrom('of-1', 'of-2', 'of-3', 'of-4');
const textArb = fc.constantFrom('likes cats', 'likes dogs', 'tips on Fridays', 'birthday in May');
const storedArb = fc
  .uniqueArray(
    fc.record({ onlyFansNoteId: ofIdArb, content: textArb, importedContent: textArb, deleted: fc.boolean() }),
    { selector: (n) => n.onlyFansNoteId, maxLength: 4 },
  )
  .map((notes) => notes.map((n, i) => ({ id: `note_${i}`, ...n })));
const snapshotArb = fc.array(fc.record({ onlyFansNoteId: ofIdArb, content: textArb }), { maxLength: 6 });
const crmArb = fc.array(textArb, { maxLength: 2 });

test('merging the same snapshot twice does nothing the second time', () => {
  fc.assert(
    fc.property(storedArb, crmArb, snapshotArb, (onlyFans, crm, snapshot) => {
      const once = apply({ onlyFans, crm }, mergeOnlyFansSnapshot(onlyFans, snapshot));
      expect(mergeOnlyFansSnapshot(once.onlyFans, snapshot)).toEqual([]);
    }),
    fcParams,
  );
});

test('a merge loses no text but CRM-unedited text that OnlyFans itself replaced or deleted', () => {
  fc.assert(
    fc.property(storedArb, crmArb, snapshotArb, (onlyFans, crm, snapshot) => {
      const after = liveTexts(apply({ onlyFans, crm }, mergeOnlyFansSnapshot(onlyFans, snapshot)));
      const onOnlyFansNow = lastWord(snapshot);
      for (const text of crm) expect(after).toContain(text);
      for (const n of onlyFans.filter((n) => !n.deleted)) {
        const edited = n.content !== n.importedContent;
        const unchangedOnOnlyFans = onOnlyFansNow.get(n.onlyFansNoteId) === n.importedContent;
        if (edited || unchangedOnOnlyFans) expect(after).toContain(n.content);
      }
      // Every text OnlyFans shows that the CRM has not already imported is in the CRM afterwards.
      for (const [onlyFansNoteId, text] of onOnlyFansNow) {
        const known = onlyFans.find((n) => n.onlyFansNoteId === onlyFansNoteId);
        if (known?.importedContent !== text) expect(after).toContain(text);
      }
    }),
    fcParams,
  );
});

test('after a merge the CRM mirrors OnlyFans: every OnlyFans note imported, nothing else tied to it', () => {
  fc.assert(
    fc.property(storedArb, crmArb, snapshotArb, (onlyFans, crm, snapshot) => {
      const after = apply({ onlyFans, crm }, mergeOnlyFansSnapshot(onlyFans, snapshot));
      const onOnlyFansNow = lastWord(snapshot);
      for (const [onlyFansNoteId, text] of onOnlyFansNow) {
        expect(after.onlyFans.find((n) => n.onlyFansNoteId === onlyFansNoteId)?.importedContent).toBe(text);
      }
      // Tombstones included: a tombstone still tied to a dropped id would come back as an OnlyFans
      // note, badge and all, when a CRM edit revives it (issue #19).
      for (const n of after.onlyFans) expect(onOnlyFansNow.has(n.onlyFansNoteId)).toBe(true);
    }),
    fcParams,
  );
});

test('a merge neither undoes a CRM delete for nothing nor copies text the note already has', () => {
  fc.assert(
    fc.property(storedArb, snapshotArb, (onlyFans, snapshot) => {
      const onOnlyFansNow = lastWord(snapshot);
      for (const action of mergeOnlyFansSnapshot(onlyFans, snapshot)) {
        const before = onlyFans.find((n) => n.id === ('noteId' in action ? action.noteId : undefined));
        if (action.kind === 'restore')
          expect(onOnlyFansNow.get(before!.onlyFansNoteId)).not.toBe(before!.importedContent);
        if (action.kind === 'conflict') expect(action.copyContent).not.toBe(before!.content);
      }
    }),
    fcParams,
  );
});

test('over any history of edits on both sides, syncs never lose a CRM edit and always settle', () => {
  // Reference model: OnlyFans as a map of id -> text, the CRM as the model above; the chatter edits and
  // deletes in the CRM, the creator edits and deletes on OnlyFans, and the extension syncs now and then.
  const opArb = fc.oneof(
    fc.record({ kind: fc.constant('onlyfans-write' as const), id: ofIdArb, text: textArb }),
    fc.record({ kind: fc.constant('onlyfans-delete' as const), id: ofIdArb }),
    fc.record({ kind: fc.constant('crm-edit' as const), index: fc.nat(), text: textArb }),
    fc.record({ kind: fc.constant('crm-delete' as const), index: fc.nat() }),
    fc.record({ kind: fc.constant('sync' as const) }),
  );
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
      const onlyFansSite = new Map<string, string>();
      let model: Model = { onlyFans: [], crm: [] };
      for (const op of [...ops, { kind: 'sync' as const }]) {
        const live = model.onlyFans.filter((n) => !n.deleted);
        const target = 'index' in op && live.length > 0 ? live[op.index % live.length]! : undefined;
        if (op.kind === 'onlyfans-write') onlyFansSite.set(op.id, op.text);
        if (op.kind === 'onlyfans-delete') onlyFansSite.delete(op.id);
        if (op.kind === 'crm-edit' && target) target.content = op.text;
        if (op.kind === 'crm-delete' && target) target.deleted = true;
        if (op.kind !== 'sync') continue;
        const snapshot = [...onlyFansSite].map(([onlyFansNoteId, content]) => ({ onlyFansNoteId, content }));
        const edited = live.filter((n) => n.content !== n.importedContent).map((n) => n.content);
        const crmBefore = model.crm;
        model = apply(model, mergeOnlyFansSnapshot(model.onlyFans, snapshot));
        const after = liveTexts(model);
        for (const text of [...edited, ...crmBefore]) expect(after).toContain(text);
        expect(mergeOnlyFansSnapshot(model.onlyFans, snapshot)).toEqual([]);
      }
    }),
    fcParams,
  );
});
