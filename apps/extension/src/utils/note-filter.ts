import type { DisplayNote } from './local-view.ts';

/** Past this many notes the panel offers a filter box. */
export const FILTER_THRESHOLD = 10;

/** How many notes (conflict copies included) the list holds. */
export function countNotes(notes: readonly DisplayNote[]): number {
  return notes.reduce((sum, note) => sum + 1 + note.conflicts.length, 0);
}

const fold = (text: string) => text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();

/**
 * The notes matching what the chatter typed: every word (any order, case and accents ignored) in the
 * note's text, type, or its author's name. A note whose conflict copy matches is kept with its
 * copies, so a conflict is never shown half. An empty query keeps everything.
 */
export function filterNotes(
  notes: readonly DisplayNote[],
  query: string,
  authorOf: (note: DisplayNote) => string | null = () => null,
): DisplayNote[] {
  const words = fold(query).split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...notes];
  const matches = (note: DisplayNote) => {
    const haystack = fold([note.content, note.type, authorOf(note) ?? ''].join(' '));
    return words.every((word) => haystack.includes(word));
  };
  return notes.filter((note) => matches(note) || note.conflicts.some(matches));
}
