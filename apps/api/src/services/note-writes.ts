import type { NoteType } from '@fannotes/contract';
import { notes } from '@fannotes/db';
import {
  decideDelete,
  decideUpsert,
  mergeOnlyFansSnapshot,
  type NoteWrite,
  type StoredNote,
} from '@fannotes/sync-core';
import { and, eq, inArray, isNotNull } from 'drizzle-orm';
import type { FanWrite } from './fan-transaction.ts';
import { newNoteId } from './fan-transaction.ts';
import type { NoteRow } from './serialize.ts';

/** What became of one write; `note` is the row as written (or as found, for a no-op). */
export type WriteOutcome =
  | { status: 'applied'; note: NoteRow | undefined }
  | { status: 'conflict'; note: NoteRow; copy: NoteRow }
  | { status: 'rejected'; reason: string; notFound: boolean };

const notFound = (): WriteOutcome => ({ status: 'rejected', reason: 'note not found', notFound: true });

/** The note with this id if it belongs to the fan being written; a note of another fan is "not found". */
async function loadOwnNote(write: FanWrite, noteId: string): Promise<NoteRow | undefined | 'foreign'> {
  const [row] = await write.tx.select().from(notes).where(eq(notes.id, noteId));
  if (!row) return undefined;
  return row.fanRowId === write.fan.id ? row : 'foreign';
}

/**
 * The stored note as conflict rules see it. Only text changes by someone else count as "edited since":
 * the base version of a client's own later edit is never older than its own earlier edit, which it had
 * no way to learn the version of while offline.
 */
function storedForDecision(row: NoteRow, write: FanWrite, baseVersion: number) {
  const ownLastEdit = write.clientId !== null && row.contentClientId === write.clientId;
  const stored: StoredNote = {
    id: row.id,
    content: row.content,
    type: row.type,
    color: row.color,
    isPinned: row.isPinned,
    version: row.contentVersion,
    deleted: row.deletedAt !== null,
  };
  return { stored, baseVersion: ownLastEdit ? Math.max(baseVersion, row.contentVersion) : baseVersion };
}

function stamp(write: FanWrite) {
  write.touched = true;
  return { version: write.version, updatedAt: write.now, updatedBy: write.userId };
}

/** Who last changed the text: text from OnlyFans was written by no sync client. */
function contentStamp(write: FanWrite, fromOnlyFans: boolean) {
  return { contentVersion: write.version, contentClientId: fromOnlyFans ? null : write.clientId };
}

async function insertNote(
  write: FanWrite,
  values: {
    id: string;
    content: string;
    type: NoteType;
    color: string | null;
    isPinned: boolean;
    source?: 'onlyautomator' | 'onlyfans';
    onlyFansNoteId?: string | null;
    importedContent?: string | null;
    conflictOf?: string | null;
  },
): Promise<NoteRow> {
  const [row] = await write.tx
    .insert(notes)
    .values({
      ...values,
      fanRowId: write.fan.id,
      accountId: write.fan.accountId,
      createdAt: write.now,
      createdBy: write.userId,
      ...stamp(write),
      ...contentStamp(write, values.source === 'onlyfans'),
    })
    .returning();
  return row!;
}

async function updateNote(
  write: FanWrite,
  noteId: string,
  changes: Partial<typeof notes.$inferInsert>,
  contentChanged: boolean,
  fromOnlyFans = false,
): Promise<NoteRow> {
  const [row] = await write.tx
    .update(notes)
    .set({ ...changes, ...stamp(write), ...(contentChanged ? contentStamp(write, fromOnlyFans) : {}) })
    .where(eq(notes.id, noteId))
    .returning();
  return row!;
}

/**
 * Creates or edits a CRM note. `createIfMissing` is the sync protocol's offline create; REST updates
 * of an unknown id are "not found" instead.
 */
export async function upsertNote(
  write: FanWrite,
  input: { noteId: string; baseVersion: number | undefined; fields: NoteWrite; createIfMissing: boolean },
): Promise<WriteOutcome> {
  const existing = await loadOwnNote(write, input.noteId);
  if (existing === 'foreign') return notFound();
  if (!existing && !input.createIfMissing) return notFound();
  const decisionInput = existing
    ? storedForDecision(existing, write, input.baseVersion ?? existing.contentVersion)
    : { stored: undefined, baseVersion: input.baseVersion ?? 0 };
  const decision = decideUpsert(decisionInput.stored, decisionInput.baseVersion, input.fields);
  switch (decision.kind) {
    case 'noop':
      return { status: 'applied', note: existing as NoteRow };
    case 'create':
      return { status: 'applied', note: await insertNote(write, { id: input.noteId, ...decision.fields }) };
    case 'update':
      return {
        status: 'applied',
        note: await updateNote(write, input.noteId, decision.changes, decision.changes.content !== undefined),
      };
    case 'restore':
      return {
        status: 'applied',
        note: await updateNote(write, input.noteId, { ...decision.fields, deletedAt: null }, true),
      };
    case 'conflict': {
      const note = Object.keys(decision.changes).length
        ? await updateNote(write, input.noteId, decision.changes, false)
        : (existing as NoteRow);
      const copy = await insertNote(write, { id: newNoteId(), ...decision.copy, conflictOf: input.noteId });
      return { status: 'conflict', note, copy };
    }
  }
}

/** Deletes a note, keeping a tombstone. A delete based on text someone else edited since is rejected. */
export async function deleteNote(
  write: FanWrite,
  input: { noteId: string; baseVersion: number | undefined; mustExist: boolean },
): Promise<WriteOutcome> {
  const existing = await loadOwnNote(write, input.noteId);
  if (existing === 'foreign') return notFound();
  if (!existing) return input.mustExist ? notFound() : { status: 'applied', note: undefined };
  const { stored, baseVersion } = storedForDecision(
    existing,
    write,
    input.baseVersion ?? existing.contentVersion,
  );
  const decision = decideDelete(stored, baseVersion);
  switch (decision.kind) {
    case 'noop':
      return { status: 'applied', note: existing };
    case 'reject':
      return { status: 'rejected', reason: decision.reason, notFound: false };
    case 'delete':
      return {
        status: 'applied',
        note: await updateNote(write, input.noteId, { deletedAt: write.now }, false),
      };
  }
}

/** Upserts one note read from OnlyFans (POST /api/v2/update-of-note). */
export async function upsertOnlyFansNote(
  write: FanWrite,
  input: { onlyFansNoteId: string; content: string },
): Promise<NoteRow> {
  const stored = await loadOnlyFansNotes(write, [input.onlyFansNoteId]);
  // A single note is a snapshot of that note alone: the merge's deletions do not apply to it.
  await applySnapshotActions(write, stored, [input], false);
  const [row] = await loadOnlyFansNotes(write, [input.onlyFansNoteId]);
  return row!;
}

/**
 * Merges the fan's notes as seen on OnlyFans right now: new ones imported, changed ones updated (or
 * kept with a conflict copy when the CRM edited them too), missing ones tombstoned (or kept as CRM
 * notes when the CRM edited them since the import).
 */
export async function mergeSnapshot(
  write: FanWrite,
  snapshot: readonly { onlyFansNoteId: string; content: string }[],
): Promise<void> {
  await applySnapshotActions(write, await loadOnlyFansNotes(write), snapshot, true);
}

async function loadOnlyFansNotes(write: FanWrite, only?: string[]): Promise<NoteRow[]> {
  return write.tx
    .select()
    .from(notes)
    .where(
      and(
        eq(notes.fanRowId, write.fan.id),
        only ? inArray(notes.onlyFansNoteId, only) : isNotNull(notes.onlyFansNoteId),
      ),
    );
}

async function applySnapshotActions(
  write: FanWrite,
  rows: NoteRow[],
  snapshot: readonly { onlyFansNoteId: string; content: string }[],
  complete: boolean,
): Promise<void> {
  const stored = rows.map((row) => ({
    id: row.id,
    onlyFansNoteId: row.onlyFansNoteId!,
    content: row.content,
    importedContent: row.importedContent ?? row.content,
    deleted: row.deletedAt !== null,
  }));
  for (const action of mergeOnlyFansSnapshot(stored, snapshot)) {
    switch (action.kind) {
      case 'create':
        await insertNote(write, {
          id: newNoteId(),
          content: action.content,
          type: 'personal',
          color: null,
          isPinned: false,
          source: 'onlyfans',
          onlyFansNoteId: action.onlyFansNoteId,
          importedContent: action.content,
        });
        break;
      case 'update':
        await updateNote(
          write,
          action.noteId,
          { content: action.content, importedContent: action.content },
          true,
          true,
        );
        break;
      case 'restore':
        await updateNote(
          write,
          action.noteId,
          { content: action.content, importedContent: action.content, deletedAt: null },
          true,
          true,
        );
        break;
      case 'acknowledge':
        // Not a visible change: no version stamp.
        await write.tx
          .update(notes)
          .set({ importedContent: action.importedContent })
          .where(eq(notes.id, action.noteId));
        break;
      case 'conflict': {
        await write.tx
          .update(notes)
          .set({ importedContent: action.importedContent })
          .where(eq(notes.id, action.noteId));
        const original = rows.find((row) => row.id === action.noteId)!;
        await insertNote(write, {
          id: newNoteId(),
          content: action.copyContent,
          type: original.type,
          color: original.color,
          isPinned: original.isPinned,
          conflictOf: action.noteId,
        });
        break;
      }
      case 'delete':
        if (complete) await updateNote(write, action.noteId, { deletedAt: write.now }, false);
        break;
      case 'detach':
        if (complete) {
          await updateNote(
            write,
            action.noteId,
            { onlyFansNoteId: null, importedContent: null, source: 'onlyautomator' },
            false,
          );
        }
        break;
    }
  }
}
