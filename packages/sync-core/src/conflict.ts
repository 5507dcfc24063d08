import type { NoteType } from '@fannotes/contract';

/** A stored note as the conflict rules see it; `version` is the fan's version at its last change. */
export interface StoredNote {
  id: string;
  content: string;
  type: NoteType;
  color: string | null;
  isPinned: boolean;
  version: number;
  deleted: boolean;
}

/**
 * What an upsert mutation writes: each field only when the client set it. Text is required to create
 * (or bring back) a note; without it the upsert only restyles an existing note.
 */
export interface NoteWrite {
  content?: string | undefined;
  type?: NoteType;
  color?: string | null;
  isPinned?: boolean;
}

/** Every field a client can write, all present. */
export interface NoteFieldValues {
  content: string;
  type: NoteType;
  color: string | null;
  isPinned: boolean;
}

/** The fields that are last-writer-wins in server order, whatever version the writer saw. */
export type LastWriterWinsFields = Pick<NoteFieldValues, 'type' | 'color' | 'isPinned'>;

/**
 * - `create`: a new note with these fields.
 * - `update`: change only these fields (never empty: no change is `noop`).
 * - `restore`: the note was deleted; bring it back with these fields, so the client's text is not lost.
 * - `conflict`: the note's text changed since the client saw it. Keep the stored text, apply `changes`
 *   (possibly empty) to the note, and save `copy` as a new note with `conflictOf` set to it.
 * - `noop`: nothing changes (the mutation still counts as applied).
 * - `reject`: a restyle (no text) of a note that does not exist or was deleted.
 */
export type UpsertDecision =
  | { kind: 'create'; fields: NoteFieldValues }
  | { kind: 'update'; changes: Partial<NoteFieldValues> }
  | { kind: 'restore'; fields: NoteFieldValues }
  | { kind: 'conflict'; changes: Partial<LastWriterWinsFields>; copy: NoteFieldValues }
  | { kind: 'noop' }
  | { kind: 'reject'; reason: string };

export type DeleteDecision = { kind: 'delete' } | { kind: 'noop' } | { kind: 'reject'; reason: string };

/**
 * One upsert against the stored note, decided by server order alone (the versions the server handed
 * out), never by client clocks. `baseVersion` is the note's version the client last saw (0 for a note
 * it created). Invariant: after the decision is carried out, the client's text is the note's text or
 * the copy's; it is never silently lost. Text is replaced only by a writer who had seen it
 * (`baseVersion >= version`); type, colour and pin are last-writer-wins.
 */
export function decideUpsert(
  stored: StoredNote | undefined,
  baseVersion: number,
  write: NoteWrite,
): UpsertDecision {
  if (write.content === undefined && (stored === undefined || stored.deleted)) {
    return { kind: 'reject', reason: stored ? 'note was deleted' : 'note not found' };
  }
  if (stored === undefined) {
    return {
      kind: 'create',
      fields: {
        content: write.content!,
        type: write.type ?? 'personal',
        color: write.color === undefined ? null : write.color,
        isPinned: write.isPinned ?? false,
      },
    };
  }

  const written = withStoredDefaults(stored, write);
  // A tombstone is brought back whatever the client's base: it edited the note, so it wants it.
  if (stored.deleted) return { kind: 'restore', fields: written };

  const stale = baseVersion < stored.version;
  if (!stale || written.content === stored.content) {
    const changes = changedFields(stored, written);
    return Object.keys(changes).length === 0 ? { kind: 'noop' } : { kind: 'update', changes };
  }

  const { content: _content, ...lastWriterWins } = changedFields(stored, written);
  return { kind: 'conflict', changes: lastWriterWins, copy: written };
}

/**
 * One delete against the stored note. Deleting what is missing or already deleted is a noop, so a
 * replayed or concurrent delete succeeds quietly. A delete based on a version older than the note's
 * is refused: the client never saw the edits it would throw away.
 */
export function decideDelete(stored: StoredNote | undefined, baseVersion: number): DeleteDecision {
  if (stored === undefined || stored.deleted) return { kind: 'noop' };
  if (baseVersion >= stored.version) return { kind: 'delete' };
  return {
    kind: 'reject',
    reason: `note was edited after baseVersion ${baseVersion} (now version ${stored.version})`,
  };
}

function withStoredDefaults(stored: StoredNote, write: NoteWrite): NoteFieldValues {
  return {
    content: write.content ?? stored.content,
    type: write.type ?? stored.type,
    color: write.color === undefined ? stored.color : write.color,
    isPinned: write.isPinned ?? stored.isPinned,
  };
}

function changedFields(stored: StoredNote, next: NoteFieldValues): Partial<NoteFieldValues> {
  const changes: Partial<NoteFieldValues> = {};
  if (next.content !== stored.content) changes.content = next.content;
  if (next.type !== stored.type) changes.type = next.type;
  if (next.color !== stored.color) changes.color = next.color;
  if (next.isPinned !== stored.isPinned) changes.isPinned = next.isPinned;
  return changes;
}
