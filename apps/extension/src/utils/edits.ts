import { Mutation } from '@fannotes/contract';
import { baseVersionFor } from '@fannotes/sync-core';
import { displayNotes, findDisplayNote } from './local-view.ts';
import type { FanView, NoteEdit, OutboxEntry } from './model.ts';
import type { UnnumberedMutation } from './outbox.ts';

/** The fields an upsert writes, as the outbox keeps them (the contract's parsed form). */
type UpsertNote = Extract<Mutation, { op: 'upsert' }>['note'];

/**
 * The mutation for a panel edit. `baseVersion` is the version of the text the user was shown
 * (sync-core's baseVersionFor: while our own edit of the note is queued, its base, not a newer
 * version that arrived under it); the server compares it with the note's text version to tell a
 * concurrent edit from ours. A change of pin, colour or type alone sends no text, so it can never
 * race anyone's text into a conflict copy.
 */
export function buildUpsert(
  view: FanView | null,
  outbox: readonly OutboxEntry[],
  fanId: string,
  noteId: string | undefined,
  edit: NoteEdit,
  newNoteId: () => string,
): UnnumberedMutation {
  const shown = noteId === undefined ? undefined : findDisplayNote(displayNotes(view, outbox, fanId), noteId);
  if (noteId !== undefined && !shown) throw new Error('This note no longer exists.');
  if (edit.content === undefined && !shown) throw new Error('A new note needs some text.');
  const note: UpsertNote = edit.content === undefined ? {} : { content: edit.content };
  if (edit.type !== undefined) note.type = edit.type;
  if (edit.color !== undefined) note.color = edit.color;
  if (edit.isPinned !== undefined) note.isPinned = edit.isPinned;
  const id = noteId ?? newNoteId();
  return { op: 'upsert', noteId: id, baseVersion: baseFor(view, outbox, id), note };
}

export function buildDelete(
  view: FanView | null,
  outbox: readonly OutboxEntry[],
  noteId: string,
): UnnumberedMutation {
  return { op: 'delete', noteId, baseVersion: baseFor(view, outbox, noteId) };
}

/** Checks a numbered mutation against the contract, normalised as the server will read it. */
export function validateMutation(mutation: Mutation): Mutation {
  const result = Mutation.safeParse(mutation);
  if (!result.success) throw new Error(result.error.issues[0]?.message ?? 'Invalid note.');
  return result.data;
}

function baseFor(view: FanView | null, outbox: readonly OutboxEntry[], noteId: string): number {
  const serverVersion = view?.notes.find((note) => note.id === noteId)?.version;
  return baseVersionFor(
    noteId,
    serverVersion,
    outbox.map((entry) => entry.mutation),
  );
}
