/** The fields that decide where a note is listed; `updatedAt` is an ISO 8601 string or epoch milliseconds. */
export interface OrderedNote {
  isPinned: boolean;
  updatedAt: string | number;
  id: string;
}

/**
 * The one order notes are shown in, in the API's responses and the extension's panel alike: pinned
 * first, then the most recently updated, then by id. Invariant: a total order (antisymmetric,
 * transitive, 0 only for equal keys), so every client lists the same notes in the same order whatever
 * order they arrived in. That is why ids compare by code unit rather than with a locale-dependent
 * `localeCompare`, and why a time that cannot be read counts as the oldest rather than as NaN, which
 * would break transitivity.
 */
export function compareNotes(a: OrderedNote, b: OrderedNote): number {
  if (a.isPinned !== b.isPinned) return a.isPinned ? -1 : 1;
  const aTime = toTime(a.updatedAt);
  const bTime = toTime(b.updatedAt);
  if (aTime !== bTime) return aTime > bTime ? -1 : 1;
  if (a.id === b.id) return 0;
  return a.id < b.id ? -1 : 1;
}

/** A new array of the notes in display order; the input is left as it was. */
export function sortNotes<T extends OrderedNote>(notes: readonly T[]): T[] {
  return [...notes].sort(compareNotes);
}

function toTime(value: string | number): number {
  // Strings are parsed as instants, so `...:00Z` and `...:00.000+00:00` are the same time.
  const time = typeof value === 'number' ? value : Date.parse(value);
  return Number.isNaN(time) ? Number.NEGATIVE_INFINITY : time;
}
