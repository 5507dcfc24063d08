import type { NoteType } from '@fannotes/contract';
import { defaultNoteType } from '@fannotes/contract/note-kinds';
import type { DetectedFan } from './detect-fan.ts';
import type { DisplayNote } from './local-view.ts';
import { personName, type People } from './members.ts';
import { exactTime, relativeTime, toEpoch } from './relative-time.ts';

/** The colours the panel offers, by name. */
export const COLORS: readonly (readonly [string, string | null])[] = [
  ['No colour', null],
  ['Red', '#F04438'],
  ['Orange', '#F79009'],
  ['Yellow', '#FDB022'],
  ['Green', '#12B76A'],
  ['Blue', '#00AFF0'],
  ['Purple', '#7A5AF8'],
];

export function colorName(color: string): string {
  return COLORS.find(([, value]) => value === color.toUpperCase())?.[0] ?? color;
}

export interface Badge {
  kind: 'pinned' | 'type' | 'onlyfans' | 'color' | 'pending';
  text: string;
  title?: string;
}

/**
 * The small labels above a note's text. The default type says nothing a chatter needs (most notes
 * are `personal`), so only the other types get a badge.
 */
export function noteBadges(
  note: Pick<DisplayNote, 'isPinned' | 'type' | 'source' | 'color' | 'pending'>,
): Badge[] {
  const badges: Badge[] = [];
  if (note.isPinned) badges.push({ kind: 'pinned', text: 'Pinned' });
  if (note.type !== defaultNoteType) badges.push({ kind: 'type', text: typeLabel(note.type) });
  if (note.source === 'onlyfans')
    badges.push({ kind: 'onlyfans', text: 'OnlyFans note', title: 'Copied from OnlyFans' });
  if (note.color) badges.push({ kind: 'color', text: colorName(note.color), title: note.color });
  if (note.pending) badges.push({ kind: 'pending', text: 'Pending', title: 'Saved here, not yet synced' });
  return badges;
}

export function typeLabel(type: NoteType): string {
  return type;
}

/** What the OnlyFans note says about editing it: the CRM keeps its own copy. */
export const ONLYFANS_NOTE_HINT = 'Editing it here changes the CRM copy, not the note on OnlyFans.';

export interface TimeLabel {
  /** "Ana · 5 min ago". */
  text: string;
  /** The exact time, for the tooltip. */
  title: string;
}

/**
 * Who wrote a note and when, and who last changed it when that was someone else: "Ana · 5 min ago",
 * "edited by Ben · 2 min ago". An OnlyFans note was written on OnlyFans. A pending change is the
 * signed-in user's, from this device.
 */
export function authorship(
  note: Pick<DisplayNote, 'source' | 'createdAt' | 'updatedAt' | 'createdBy' | 'updatedBy' | 'pending'>,
  people: People,
  now: number,
): { created: TimeLabel | null; edited: TimeLabel | null } {
  const at = (time: string | number | null, who: string | null): TimeLabel | null => {
    const ms = time === null ? null : toEpoch(time);
    if (ms === null) return who === null ? null : { text: who, title: '' };
    const when = relativeTime(ms, now);
    return { text: who === null ? when : `${who} · ${when}`, title: exactTime(ms) };
  };
  const author = note.source === 'onlyfans' ? 'From OnlyFans' : personName(note.createdBy, people);
  const created = at(note.createdAt ?? (note.pending ? note.updatedAt : null), author);
  const editor = personName(note.updatedBy, people);
  const editedBySomeoneElse = note.updatedBy !== null && note.updatedBy !== note.createdBy;
  if (!editedBySomeoneElse || note.createdAt === null || note.updatedAt === note.createdAt) {
    return { created, edited: null };
  }
  return { created, edited: at(note.updatedAt, editor === null ? 'edited' : `edited by ${editor}`) };
}

/**
 * The two sides of a conflict, named by whose text each is: the original holds the text saved first
 * (by its last editor), the copy the text that arrived second (by the copy's author). "Your version",
 * "Ana's version"; the same person on both sides (two devices) is told apart by order.
 */
export function conflictLabels(
  original: Pick<DisplayNote, 'updatedBy'>,
  copy: Pick<DisplayNote, 'createdBy'>,
  people: People,
): { original: string; copy: string } {
  const whose = (userId: string | null) => {
    const name = personName(userId, people);
    if (name === 'You') return 'Your version';
    if (name === null) return "A teammate's version";
    if (name === 'Former teammate') return "A former teammate's version";
    return `${name}'s version`;
  };
  const first = whose(original.updatedBy);
  const second = whose(copy.createdBy);
  if (first !== second) return { original: first, copy: second };
  return { original: `${first} (saved first)`, copy: `${second} (saved second)` };
}

/** The button that keeps a side: "Keep your version", "Keep Ana's version" (names keep their case). */
export function keepLabel(label: string): string {
  return `Keep ${/^(Your|A) /.test(label) ? label[0]!.toLowerCase() + label.slice(1) : label}`;
}

/** The fan as the panel's title names them. */
export function fanLabel(fan: Pick<DetectedFan, 'fanId' | 'name' | 'username'>): {
  name: string;
  handle: string | null;
} {
  if (fan.name) return { name: fan.name, handle: fan.username ? `@${fan.username}` : null };
  if (fan.username) return { name: `@${fan.username}`, handle: null };
  return { name: `Fan #${fan.fanId}`, handle: null };
}
