import type { Note, NoteSource, NoteType } from '@fannotes/contract';
import { defaultNoteType } from '@fannotes/contract/note-kinds';
import { sortNotes } from '@fannotes/sync-core';
import type { FanView, OutboxEntry } from './model.ts';

/** A note as the panel shows it: the server's state with this client's pending changes on top. */
export interface DisplayNote {
  id: string;
  content: string;
  type: NoteType;
  color: string | null;
  isPinned: boolean;
  source: NoteSource;
  conflictOf: string | null;
  /** ISO time from the server, or epoch ms of a pending change. */
  updatedAt: string | number;
  /** ISO time from the server, or epoch ms of a pending create; null when not known. */
  createdAt: string | number | null;
  /** Who wrote the note, and who last changed it (user ids); null when not known. */
  createdBy: string | null;
  updatedBy: string | null;
  /** A change of this note is in the outbox, not yet acknowledged by the server. */
  pending: boolean;
  /** Conflict copies of this note (`conflictOf` = its id), for the user to keep one. */
  conflicts: DisplayNote[];
}

/**
 * The fan's notes as the user should see them right now: the server's notes, then every outbox entry
 * of this fan applied in order (an upsert changes or creates, a delete hides), the same way the server
 * will apply them when they arrive. Conflict copies are listed under their original while it is shown;
 * the order is sync-core's, so the panel lists notes as the API does.
 */
export function displayNotes(
  view: FanView | null,
  outbox: readonly OutboxEntry[],
  fanId: string,
  /** The signed-in user, whose changes the outbox holds. */
  me: string | null = null,
): DisplayNote[] {
  const notes = new Map<string, DisplayNote>();
  for (const note of view?.notes ?? []) notes.set(note.id, fromServer(note));
  for (const { fanId: entryFan, mutation, enqueuedAt } of outbox) {
    if (entryFan !== fanId) continue;
    if (mutation.op === 'delete') {
      notes.delete(mutation.noteId);
      continue;
    }
    const previous = notes.get(mutation.noteId);
    const { content, type, color, isPinned } = mutation.note;
    notes.set(mutation.noteId, {
      id: mutation.noteId,
      // A restyle may carry no text (the contract allows it): the text stays as shown.
      content: content ?? previous?.content ?? '',
      type: type ?? previous?.type ?? defaultNoteType,
      color: color === undefined ? (previous?.color ?? null) : color,
      isPinned: isPinned ?? previous?.isPinned ?? false,
      source: previous?.source ?? 'onlyautomator',
      conflictOf: previous?.conflictOf ?? null,
      updatedAt: enqueuedAt,
      createdAt: previous ? previous.createdAt : enqueuedAt,
      createdBy: previous ? previous.createdBy : me,
      updatedBy: me,
      pending: true,
      conflicts: [],
    });
  }

  const top: DisplayNote[] = [];
  for (const note of notes.values()) {
    const original = note.conflictOf === null ? undefined : notes.get(note.conflictOf);
    if (original && original.conflictOf === null) original.conflicts.push(note);
    else top.push(note);
  }
  for (const note of top) note.conflicts = sortNotes(note.conflicts);
  return sortNotes(top);
}

function fromServer(note: Note): DisplayNote {
  return {
    id: note.id,
    content: note.content,
    type: note.type,
    color: note.color,
    isPinned: note.isPinned,
    source: note.source,
    conflictOf: note.conflictOf,
    updatedAt: note.updatedAt,
    createdAt: note.createdAt,
    createdBy: note.createdBy,
    updatedBy: note.updatedBy,
    pending: false,
    conflicts: [],
  };
}

/** One note as displayed, or undefined when it is not shown (unknown or deleted). */
export function findDisplayNote(notes: readonly DisplayNote[], id: string): DisplayNote | undefined {
  for (const note of notes) {
    if (note.id === id) return note;
    const copy = note.conflicts.find((conflict) => conflict.id === id);
    if (copy) return copy;
  }
  return undefined;
}
