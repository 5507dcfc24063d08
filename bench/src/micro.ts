import { performance } from 'node:perf_hooks';
import type { Mutation } from '@fannotes/contract';
import {
  applyChanges,
  defaultThrottlePolicy,
  mergeOnlyFansSnapshot,
  planSync,
  sortNotes,
  type ServerNote,
  type StoredOnlyFansNote,
} from '@fannotes/sync-core';

export interface MicroResult {
  name: string;
  what: string;
  /** Median and slowest of the timed iterations, in ms. */
  medianMs: number;
  maxMs: number;
  iterations: number;
}

const N = 10_000;

function time(name: string, what: string, run: () => unknown, iterations = 30, warmup = 5): MicroResult {
  for (let i = 0; i < warmup; i++) run();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const started = performance.now();
    run();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return {
    name,
    what,
    medianMs: samples[Math.floor(samples.length / 2)]!,
    maxMs: samples.at(-1)!,
    iterations,
  };
}

const noteId = (i: number) => `note_00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

/** sync-core's pure decisions on 10,000 notes: no I/O, so this is the CPU a sync's logic costs. */
export function runMicro(): MicroResult[] {
  const notes = new Map<string, ServerNote>();
  const stored: StoredOnlyFansNote[] = [];
  for (let i = 0; i < N; i++) {
    const content = `note ${i}: likes tips, prefers mornings, asked about the custom video`;
    const fromOnlyFans = i % 2 === 0;
    const note: ServerNote = {
      id: noteId(i),
      content,
      type: 'personal',
      color: null,
      isPinned: i % 10 === 0,
      source: fromOnlyFans ? 'onlyfans' : 'onlyautomator',
      onlyFansNoteId: fromOnlyFans ? String(1_000_000 + i) : null,
      importedContent: fromOnlyFans ? content : null,
      conflictOf: null,
      version: i + 1,
      contentVersion: i + 1,
      contentClientId: null,
      deleted: false,
    };
    notes.set(note.id, note);
    if (fromOnlyFans) {
      stored.push({
        id: note.id,
        onlyFansNoteId: note.onlyFansNoteId!,
        content,
        importedContent: content,
        deleted: false,
      });
    }
  }
  // OnlyFans' view: most unchanged, 10% edited there, 5% gone, and 500 new ones.
  const snapshot = stored
    .filter((_, i) => i % 20 !== 0)
    .map((note, i) => ({
      onlyFansNoteId: note.onlyFansNoteId,
      content: i % 10 === 0 ? `${note.content} (edited on OnlyFans)` : note.content,
    }));
  for (let i = 0; i < 500; i++) snapshot.push({ onlyFansNoteId: String(9_000_000 + i), content: `new ${i}` });
  // 100 mutations of one client: edits, an edit from an old base (a conflict), deletes and creates.
  const mutations: Mutation[] = Array.from({ length: 100 }, (_, i): Mutation => {
    const id = i + 1;
    if (i % 10 === 9) return { id, op: 'delete', noteId: noteId(i * 50 + 1), baseVersion: N };
    if (i % 10 === 8) {
      return { id, op: 'upsert', noteId: noteId(N + i), baseVersion: 0, note: { content: `created ${i}` } };
    }
    return {
      id,
      op: 'upsert',
      noteId: noteId(i * 50),
      baseVersion: i % 10 === 7 ? 1 : N,
      note: { content: `edited ${i}`, isPinned: i % 3 === 0 },
    };
  });
  const fullSet = [...notes.values()].map((note) => ({
    ...note,
    updatedAt: new Date(1_770_000_000_000 + note.version * 1000).toISOString(),
  }));
  let next = 0;

  const plan = () =>
    planSync({
      state: { lastFullSyncAt: 1_770_000_000_000, lastForcedSyncAt: null },
      force: false,
      hasChanges: true,
      now: 1_770_000_010_000,
      policy: defaultThrottlePolicy,
    });

  return [
    time(
      'merge-and-plan',
      'applyChanges on 10,000 stored notes: 100 mutations and a 9,500-note OnlyFans snapshot, plus planSync',
      () => {
        plan();
        return applyChanges({
          notes,
          foreignNoteIds: new Set(),
          clientId: '11111111-1111-4111-8111-111111111111',
          lastMutationId: 0,
          mutations,
          onlyFansSnapshot: { notes: snapshot, complete: true },
          version: N + 1,
          newNoteId: () => noteId(2 * N + next++),
        });
      },
    ),
    time('merge', 'mergeOnlyFansSnapshot: 5,000 stored OnlyFans notes against the snapshot', () =>
      mergeOnlyFansSnapshot(stored, snapshot),
    ),
    time('plan', 'planSync, one decision', plan, 1000, 100),
    time('sort', 'sortNotes: 10,000 notes in display order', () => sortNotes(fullSet)),
  ];
}
