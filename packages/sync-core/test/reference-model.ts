// The reference model of the sync protocol's model-based tests (protocol-run.ts): what the rules of
// DESIGN.md ("The sync protocol") say, written from the rules in terms of what each writer saw, not
// from apply.ts.
import type { Mutation, MutationResult, NoteType } from '@fannotes/contract';
import assert from 'node:assert/strict';
import type { OnlyFansNoteText } from '../src/index.ts';
import type { PendingMutation, ServerState, SyncRequest, SyncResponse, SyncedNote } from './simulation.ts';

interface ModelNote {
  content: string;
  deleted: boolean;
  type: NoteType;
  color: string | null;
  isPinned: boolean;
  onlyFansNoteId: string | null;
  conflictOf: string | null;
  /** Every text it has held. */
  texts: ReadonlySet<string>;
  /**
   * A text came back: it was deleted and brought back, or took a text it had held before (an older
   * OnlyFans snapshot arriving late). See `expectedStatuses`.
   */
  revisited: boolean;
}

function retext(note: ModelNote, content: string, restoring: boolean): ModelNote {
  if (content === note.content && !restoring) return note;
  return {
    ...note,
    content,
    texts: new Set([...note.texts, content]),
    revisited: note.revisited || restoring || note.texts.has(content),
  };
}

function newModelNote(content: string): ModelNote {
  const fields = { type: 'personal', color: null, isPinned: false } as const;
  return {
    content,
    deleted: false,
    ...fields,
    onlyFansNoteId: null,
    conflictOf: null,
    texts: new Set([content]),
    revisited: false,
  };
}

/**
 * What the rules say, written from DESIGN.md in terms of what each writer saw rather than versions:
 * which texts were accepted, who replaced which text having seen it, what OnlyFans itself replaced,
 * and per note its text, deletion and last-writer-wins fields in server order. Between requests it
 * takes the server's notes as they are (observe); within a request it predicts, mutation by mutation.
 */
export class ReferenceModel {
  readonly notes = new Map<string, ModelNote>();
  /** Every accepted text: a processed upsert's text, or a text of a merged OnlyFans snapshot. */
  readonly accepted: { text: string; origin: string }[] = [];
  /** Texts replaced or deleted by a client that was shown them, on the note that held them. */
  readonly superseded = new Map<string, string>();
  /** OnlyFans' text per OnlyFans note id, as of the last merged snapshot. */
  private shownOnOnlyFans = new Map<string, string>();
  /** Texts OnlyFans showed and later re-worded or removed itself. */
  readonly replacedOnOnlyFans = new Set<string>();
  /** Notes tied to an OnlyFans id that a merged snapshot left out (and so deleted, detached or untied). */
  private readonly droppedByOnlyFans = new Set<string>();
  /**
   * Seen happen (for the report): notes that let go of their OnlyFans id, copies made by OnlyFans
   * merges, and notes a CRM edit brought back after OnlyFans dropped them (issue #19's order).
   */
  untied = 0;
  onlyFansCopies = 0;
  revivedAfterDrop = 0;

  observe(state: ServerState): void {
    for (const note of state.notes.values()) {
      const before = this.notes.get(note.id);
      if (before?.onlyFansNoteId && note.onlyFansNoteId === null) this.untied += 1;
      if (!before && note.conflictOf !== null) this.onlyFansCopies += 1;
      const text = before
        ? retext(before, note.content, before.deleted && !note.deleted)
        : newModelNote(note.content);
      this.notes.set(note.id, {
        ...text,
        deleted: note.deleted,
        type: note.type,
        color: note.color,
        isPinned: note.isPinned,
        onlyFansNoteId: note.onlyFansNoteId,
        conflictOf: note.conflictOf,
      });
    }
  }

  /**
   * Checks and follows the processed mutations of one served request, in server order, then compares
   * the notes they touched with the server's (those a snapshot in the same request can also change,
   * OnlyFans-tied notes, are left to `observe`).
   */
  process(
    request: SyncRequest,
    response: SyncResponse,
    made: (id: number) => PendingMutation,
    state: ServerState,
  ): void {
    const tiedBefore = new Set(
      [...this.notes].filter(([, note]) => note.onlyFansNoteId !== null).map(([id]) => id),
    );
    const touched = new Set<string>();
    for (const result of response.results) {
      if (result.status === 'duplicate') continue;
      const { mutation, seen } = made(result.id);
      assert.deepEqual(
        request.mutations.find(({ id }) => id === result.id),
        mutation,
        'the mutation as the client made it',
      );
      const origin = `${request.clientId} #${mutation.id} (${mutation.op} ${mutation.noteId})`;
      const note = this.notes.get(mutation.noteId);
      const allowed = expectedStatuses(note, mutation, seen);
      assert.ok(
        allowed.includes(result.status),
        `${origin}: ${result.status}, expected ${allowed.join(' or ')}`,
      );
      touched.add(mutation.noteId);
      if (mutation.op === 'delete') {
        if (result.status === 'applied' && note && !note.deleted) {
          if (note.content === seen) this.superseded.set(note.content, origin);
          this.notes.set(mutation.noteId, { ...note, deleted: true });
        }
        continue;
      }
      // Scripts always send text with an upsert (restyles without text are covered by examples).
      const { content: sent, ...fields } = mutation.note;
      const content = sent!;
      this.accepted.push({ text: content, origin });
      const after = { ...(note ?? newModelNote(content)), ...definedOnly(fields) };
      if (result.status === 'applied') {
        if (note?.deleted && this.droppedByOnlyFans.has(mutation.noteId)) this.revivedAfterDrop += 1;
        if (note && !note.deleted && note.content === seen && content !== seen)
          this.superseded.set(seen, origin);
        this.notes.set(mutation.noteId, { ...retext(after, content, after.deleted), deleted: false });
      } else if (result.status === 'conflict') {
        this.notes.set(mutation.noteId, after);
        this.notes.set(result.conflictNoteId, {
          ...newModelNote(content),
          type: after.type,
          color: after.color,
          isPinned: after.isPinned,
          conflictOf: mutation.noteId,
        });
        touched.add(result.conflictNoteId);
      }
    }
    for (const id of touched) {
      const actual = state.notes.get(id);
      assert.ok(actual, `note ${id} is missing`);
      if (request.onlyFansNotes !== undefined && (tiedBefore.has(id) || actual.onlyFansNoteId !== null))
        continue;
      const predicted = this.notes.get(id)!;
      assert.deepEqual(
        {
          content: actual.content,
          deleted: actual.deleted,
          type: actual.type,
          color: actual.color,
          isPinned: actual.isPinned,
          conflictOf: actual.conflictOf,
        },
        {
          content: predicted.content,
          deleted: predicted.deleted,
          type: predicted.type,
          color: predicted.color,
          isPinned: predicted.isPinned,
          conflictOf: predicted.conflictOf,
        },
        `note ${id} after ${request.clientId}'s request`,
      );
    }
  }

  merged(snapshot: readonly OnlyFansNoteText[]): void {
    const now = new Map(snapshot.map((entry) => [entry.onlyFansNoteId, entry.content]));
    for (const [id, note] of this.notes) {
      if (note.onlyFansNoteId !== null && !now.has(note.onlyFansNoteId)) this.droppedByOnlyFans.add(id);
    }
    for (const [onlyFansNoteId, text] of this.shownOnOnlyFans) {
      if (now.get(onlyFansNoteId) !== text) this.replacedOnOnlyFans.add(text);
    }
    for (const [onlyFansNoteId, text] of now)
      this.accepted.push({ text, origin: `OnlyFans ${onlyFansNoteId}` });
    this.shownOnOnlyFans = now;
  }

  /**
   * (g) A note is tied to an OnlyFans id only while OnlyFans lists it: every note with an OnlyFans id,
   * tombstones included, has one the last merged snapshot listed, and exactly those notes have source
   * `onlyfans`. A tombstone still tied to a dropped id came back as an OnlyFans note when a late CRM
   * edit revived it, and OnlyFans' next note under that id was taken for a CRM edit (issue #19).
   */
  checkTies(state: ServerState): void {
    for (const note of state.notes.values()) {
      const tie = `note ${note.id}${note.deleted ? ' (deleted)' : ''}: ${note.source}, ${note.onlyFansNoteId}`;
      assert.equal(note.source === 'onlyfans', note.onlyFansNoteId !== null, tie);
      if (note.onlyFansNoteId === null) continue;
      assert.ok(
        this.shownOnOnlyFans.has(note.onlyFansNoteId),
        `${tie}, which the last snapshot did not list`,
      );
    }
  }

  /**
   * (c) No accepted text is lost. At the end, each accepted text T is
   *   - the content of a live note (the note written, its conflict copy, a detached OnlyFans note...), or
   *   - superseded: a client whose view showed T on the note holding it replaced that text or deleted
   *     that note, and the server applied it ("based on T": the writer was shown T; the server's view
   *     of the same fact is a baseVersion at or after T's version, or T being the client's own text), or
   *   - a text OnlyFans showed and itself re-worded or removed later (a later merged snapshot shows
   *     another text for that OnlyFans note, or none).
   * A client's text that OnlyFans never showed can only be replaced by a client that saw it.
   */
  checkNothingLost(live: readonly SyncedNote[]): void {
    const liveTexts = new Set(live.map((note) => note.content));
    const lost = this.accepted.filter(
      ({ text }) => !liveTexts.has(text) && !this.superseded.has(text) && !this.replacedOnOnlyFans.has(text),
    );
    assert.deepEqual(lost, [], 'accepted texts neither live, superseded nor replaced on OnlyFans');
  }
}

/**
 * The decision rule in terms of what the writer saw (`seen`: the text shown when the change was made).
 *   upsert: new note, tombstone (restore) or same text -> applied; the writer saw the current text ->
 *           applied; else -> conflict (the server keeps its text, the writer's goes to a copy)
 *   delete: missing or already deleted -> applied (noop); the writer saw the current text -> applied;
 *           else -> rejected
 * A note whose text came back (restored, or re-worded to a text it held before) may also answer a
 * writer who saw its current text as stale: the server reads staleness from versions, and the text's
 * return is a newer version of the same text. That is conservative (a copy or a refusal, never a loss).
 */
function expectedStatuses(
  note: ModelNote | undefined,
  mutation: Mutation,
  seen: string | null,
): MutationResult['status'][] {
  if (mutation.op === 'delete') {
    if (!note || note.deleted) return ['applied'];
    if (note.content === seen) return note.revisited ? ['applied', 'rejected'] : ['applied'];
    return ['rejected'];
  }
  if (!note || note.deleted || note.content === mutation.note.content) return ['applied'];
  if (note.content === seen) return note.revisited ? ['applied', 'conflict'] : ['applied'];
  return ['conflict'];
}

function definedOnly<T extends object>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Partial<T>;
}
