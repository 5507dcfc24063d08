import type { DisplayNote } from '../utils/local-view.ts';
import type { People } from '../utils/members.ts';
import {
  authorship,
  conflictLabels,
  keepLabel,
  noteBadges,
  ONLYFANS_NOTE_HINT,
  type TimeLabel,
} from '../utils/note-labels.ts';
import { h } from './dom.ts';
import type { Editing } from './note-editor.ts';

export interface NoteItemEnv {
  doc: Document;
  people: People;
  now: number;
  /** Viewers read: no edit, pin, delete or keep buttons. */
  canWrite: boolean;
  /** The note whose delete waits for a second click. */
  confirmDelete: string | null;
  editing: Editing | null;
  /** The edit form of the note being edited. */
  editor(draft: Editing): HTMLElement;
  edit(note: DisplayNote): void;
  togglePin(note: DisplayNote): void;
  /** The first click asks to confirm, the second deletes; leaving the button forgets the first. */
  remove(note: DisplayNote): void;
  forgetDelete(note: DisplayNote): void;
  keep(original: DisplayNote, copy: DisplayNote, keep: 'original' | 'copy'): void;
}

/**
 * One note: its badges, its text, who wrote it and when, its buttons; a conflict copy is drawn inside
 * its original, each side named by whose text it is, with one button to keep each.
 */
export function noteItem(
  env: NoteItemEnv,
  note: DisplayNote,
  original: DisplayNote | null = null,
): HTMLElement {
  const { doc } = env;
  const labels = original ? conflictLabels(original, note, env.people) : null;
  const ownLabel =
    !original && note.conflicts[0] ? conflictLabels(note, note.conflicts[0], env.people) : null;
  const badges = noteBadges(note);
  const item = h(
    doc,
    original ? 'div' : 'li',
    {
      class: original ? 'conflict' : 'note',
      'data-note-id': note.id,
      'data-source': note.source,
      'data-pending': String(note.pending),
      ...(note.color ? { style: `--note-color:${note.color}` } : {}),
    },
    labels && h(doc, 'p', { class: 'conflict-title' }, `${labels.copy}: the edits crossed, keep one`),
    ownLabel && h(doc, 'p', { class: 'version-title' }, ownLabel.original),
    badges.length > 0 &&
      h(
        doc,
        'div',
        { class: 'badges' },
        ...badges.map((badge) =>
          h(
            doc,
            'span',
            { class: `badge ${badge.kind}`, ...(badge.title ? { title: badge.title } : {}) },
            badge.kind === 'color' &&
              h(doc, 'span', { class: 'swatch', style: `background:${note.color ?? ''}` }),
            badge.kind === 'color' ? ` ${badge.text}` : badge.text,
          ),
        ),
      ),
  );
  if (env.editing?.noteId === note.id) {
    item.append(env.editor(env.editing));
  } else {
    item.append(h(doc, 'p', { class: 'content' }, note.content));
    if (note.source === 'onlyfans') item.append(h(doc, 'p', { class: 'hint' }, ONLYFANS_NOTE_HINT));
    const { created, edited } = authorship(note, env.people, env.now);
    const actions = !env.canWrite
      ? null
      : original && labels
        ? conflictActions(env, original, note, labels)
        : noteActions(env, note);
    item.append(
      h(
        doc,
        'div',
        { class: 'foot' },
        (created || edited) &&
          h(
            doc,
            'p',
            { class: 'byline' },
            timeLabel(doc, created),
            created && edited && ' · ',
            timeLabel(doc, edited),
          ),
        actions,
      ),
    );
  }
  for (const copy of note.conflicts) item.append(noteItem(env, copy, note));
  return item;
}

function timeLabel(doc: Document, label: TimeLabel | null): HTMLElement | null {
  if (!label) return null;
  return h(doc, 'span', label.title ? { title: label.title } : {}, label.text);
}

function noteActions(env: NoteItemEnv, note: DisplayNote): HTMLElement {
  const { doc } = env;
  const deleting = env.confirmDelete === note.id;
  return h(
    doc,
    'div',
    { class: 'actions' },
    h(doc, 'button', { type: 'button', onclick: () => env.edit(note) }, 'Edit'),
    h(
      doc,
      'button',
      { type: 'button', 'aria-pressed': String(note.isPinned), onclick: () => env.togglePin(note) },
      note.isPinned ? 'Unpin' : 'Pin',
    ),
    h(
      doc,
      'button',
      {
        type: 'button',
        class: 'danger',
        onclick: () => env.remove(note),
        onblur: () => env.forgetDelete(note),
      },
      deleting ? 'Confirm delete' : 'Delete',
    ),
  );
}

function conflictActions(
  env: NoteItemEnv,
  original: DisplayNote,
  copy: DisplayNote,
  labels: { original: string; copy: string },
): HTMLElement {
  const { doc } = env;
  return h(
    doc,
    'div',
    { class: 'actions' },
    h(
      doc,
      'button',
      { type: 'button', onclick: () => env.keep(original, copy, 'copy') },
      keepLabel(labels.copy),
    ),
    h(
      doc,
      'button',
      { type: 'button', onclick: () => env.keep(original, copy, 'original') },
      keepLabel(labels.original),
    ),
  );
}
