import type { Mutation, MutationResult, NoteSource, NoteType } from '@fannotes/contract';
import { decideDelete, decideUpsert, type NoteFieldValues, type StoredNote } from './conflict.ts';
import { mergeOnlyFansSnapshot, type OnlyFansNoteText } from './merge.ts';
import { sequenceMutations } from './sequence.ts';

/** A note as the server keeps it, less the bookkeeping the API adds (timestamps, authors). */
export interface ServerNote {
  id: string;
  content: string;
  type: NoteType;
  color: string | null;
  isPinned: boolean;
  source: NoteSource;
  onlyFansNoteId: string | null;
  /** The OnlyFans text as last imported (OnlyFans notes only). */
  importedContent: string | null;
  conflictOf: string | null;
  /** The fan's version at this note's last visible change. */
  version: number;
  /** The fan's version when `content` last changed, and the sync client that changed it (null: none). */
  contentVersion: number;
  contentClientId: string | null;
  deleted: boolean;
}

export interface ApplyInput {
  /**
   * The fan's stored notes the changes can touch: every note a mutation names and, with a snapshot,
   * every note of the fan that has an OnlyFans id (tombstones included).
   */
  notes: ReadonlyMap<string, ServerNote>;
  /** Ids named by mutations that belong to another fan: to this fan they do not exist. */
  foreignNoteIds: ReadonlySet<string>;
  /** The sync client sending the mutations; null for single-note REST calls (no exactly-once record). */
  clientId: string | null;
  /** The client's last processed mutation id (0 for a new client, ignored without a client). */
  lastMutationId: number;
  /**
   * Why the server rejected or refused earlier mutations of this client, by id, for the ids this
   * request sends again: their `duplicate` results carry the reason again (a client that lost the
   * first answer must not take a rejected change for a saved one).
   */
  earlierRejections?: ReadonlyMap<number, string> | undefined;
  mutations: readonly Mutation[];
  /** The fan's notes on OnlyFans; `complete` when it is the whole list (absent notes were deleted there). */
  onlyFansSnapshot?: { notes: readonly OnlyFansNoteText[]; complete: boolean } | undefined;
  /** The fan's next version: what every visible change is stamped with. */
  version: number;
  newNoteId: () => string;
  /**
   * How many of the fan's notes are live now, and the most it may have. A change that would bring a
   * note to life past `max` (a create, a conflict copy, bringing back a deleted note) is not made: a
   * mutation is `rejected`, a snapshot's note is left out (`skipped`). Omitted: no cap.
   */
  liveNotes?: { count: number; max: number } | undefined;
}

export interface ApplyOutput {
  results: MutationResult[];
  lastMutationId: number;
  /** Every note created or changed, in its new state, in the order of the changes. */
  changed: Map<string, ServerNote>;
  /** The ids in `changed` that are new notes. */
  created: Set<string>;
  /** Whether a client can see any change, i.e. whether the fan's version must move to `version`. */
  bumped: boolean;
  /** How many more (or, negative, fewer) of the fan's notes are live than before. */
  liveDelta: number;
  /** Snapshot notes not imported or brought back because the fan is at its cap of live notes. */
  skipped: number;
}

/**
 * One sync's writes, decided in server order: the client's mutations exactly once and in id order
 * (sequence.ts), each by the conflict rules (conflict.ts), then the OnlyFans snapshot (merge.ts).
 * Pure: the API loads `notes`, calls this inside the fan's row lock, and writes `changed` back.
 *
 * Invariants: every accepted text ends up as a note's content or a conflict copy's; a client's own
 * later edit of a note never conflicts with its own earlier one (it could not learn the version its
 * earlier edit got while offline); a rejected mutation still advances `lastMutationId`; a note is tied
 * to an OnlyFans id only while OnlyFans lists it (merge.ts), so an edit that brings back a note OnlyFans
 * dropped brings back a CRM note, as it would have stayed had the edit come before the drop.
 */
export function applyChanges(input: ApplyInput): ApplyOutput {
  const { clientId, version } = input;
  const working = new Map(input.notes);
  const changed = new Map<string, ServerNote>();
  const created = new Set<string>();
  let bumped = false;
  let liveDelta = 0;
  let skipped = 0;
  // Whether one more live note fits under the cap.
  const room = () => !input.liveNotes || input.liveNotes.count + liveDelta < input.liveNotes.max;
  const full = () =>
    `this fan has ${input.liveNotes!.max} notes, the most one fan can have: delete some first`;

  const put = (note: ServerNote, visible: boolean, isNew = false) => {
    const next = visible ? { ...note, version } : note;
    if (visible) bumped = true;
    const before = working.get(next.id);
    liveDelta += (next.deleted ? 0 : 1) - (before && !before.deleted ? 1 : 0);
    working.set(next.id, next);
    changed.set(next.id, next);
    if (isNew) created.add(next.id);
  };
  const newNote = (id: string, fields: NoteFieldValues, extra: Partial<ServerNote> = {}) =>
    put(
      {
        id,
        ...fields,
        source: 'onlyautomator',
        onlyFansNoteId: null,
        importedContent: null,
        conflictOf: null,
        version,
        contentVersion: version,
        contentClientId: clientId,
        deleted: false,
        ...extra,
      },
      true,
      true,
    );
  const textBy = (client: string | null) => ({ contentVersion: version, contentClientId: client });

  const sequenced =
    clientId === null
      ? {
          toProcess: input.mutations.map((mutation) => ({ mutation, action: 'apply' as const })),
          lastMutationId: input.lastMutationId,
        }
      : sequenceMutations(input.lastMutationId, input.mutations);

  const results: MutationResult[] = [];
  for (const { mutation, action } of sequenced.toProcess) {
    const { id, noteId } = mutation;
    if (action === 'duplicate') {
      const reason = input.earlierRejections?.get(id);
      results.push({ id, noteId, status: 'duplicate', ...(reason === undefined ? {} : { reason }) });
      continue;
    }
    if (input.foreignNoteIds.has(noteId)) {
      results.push({ id, noteId, status: 'rejected', reason: 'note not found' });
      continue;
    }
    const stored = working.get(noteId);
    const { view, baseVersion } = decisionView(stored, mutation.baseVersion, clientId);
    if (mutation.op === 'delete') {
      const decision = decideDelete(view, baseVersion);
      if (decision.kind === 'reject') {
        results.push({ id, noteId, status: 'rejected', reason: decision.reason });
        continue;
      }
      if (decision.kind === 'delete') put({ ...stored!, deleted: true }, true);
      results.push({ id, noteId, status: 'applied' });
      continue;
    }
    const decision = decideUpsert(view, baseVersion, mutation.note);
    // A create, a restore and a conflict copy each bring one more note to life.
    if (['create', 'restore', 'conflict'].includes(decision.kind) && !room()) {
      results.push({ id, noteId, status: 'rejected', reason: full() });
      continue;
    }
    switch (decision.kind) {
      case 'create':
        newNote(noteId, decision.fields);
        break;
      case 'update':
        put(
          {
            ...stored!,
            ...decision.changes,
            ...(decision.changes.content === undefined ? {} : textBy(clientId)),
          },
          true,
        );
        break;
      case 'restore':
        put({ ...stored!, ...decision.fields, deleted: false, ...textBy(clientId) }, true);
        break;
      case 'conflict': {
        if (Object.keys(decision.changes).length > 0) put({ ...stored!, ...decision.changes }, true);
        const copyId = input.newNoteId();
        newNote(copyId, decision.copy, { conflictOf: noteId });
        results.push({ id, noteId, status: 'conflict', conflictNoteId: copyId });
        continue;
      }
      case 'noop':
        break;
      case 'reject':
        results.push({ id, noteId, status: 'rejected', reason: decision.reason });
        continue;
    }
    results.push({ id, noteId, status: 'applied' });
  }

  if (input.onlyFansSnapshot) {
    const { notes: snapshot, complete } = input.onlyFansSnapshot;
    const stored = [...working.values()].flatMap((note) =>
      note.onlyFansNoteId === null
        ? []
        : [
            {
              id: note.id,
              onlyFansNoteId: note.onlyFansNoteId,
              content: note.content,
              importedContent: note.importedContent ?? note.content,
              deleted: note.deleted,
            },
          ],
    );
    for (const action of mergeOnlyFansSnapshot(stored, snapshot)) {
      if (['create', 'restore', 'conflict'].includes(action.kind) && !room()) {
        skipped++;
        continue;
      }
      const note = action.kind === 'create' ? undefined : working.get(action.noteId)!;
      switch (action.kind) {
        case 'create':
          newNote(
            input.newNoteId(),
            { content: action.content, type: 'personal', color: null, isPinned: false },
            {
              source: 'onlyfans',
              onlyFansNoteId: action.onlyFansNoteId,
              importedContent: action.content,
              contentClientId: null,
            },
          );
          break;
        case 'update':
          put({ ...note!, content: action.content, importedContent: action.content, ...textBy(null) }, true);
          break;
        case 'restore':
          put(
            {
              ...note!,
              content: action.content,
              importedContent: action.content,
              deleted: false,
              ...textBy(null),
            },
            true,
          );
          break;
        case 'acknowledge':
          put({ ...note!, importedContent: action.importedContent }, false);
          break;
        case 'conflict':
          put({ ...note!, importedContent: action.importedContent }, false);
          newNote(
            input.newNoteId(),
            { content: action.copyContent, type: note!.type, color: note!.color, isPinned: note!.isPinned },
            { conflictOf: note!.id, contentClientId: null },
          );
          break;
        // A partial snapshot (one note from OnlyFans) says nothing about the notes it leaves out.
        case 'delete':
          if (complete) put({ ...note!, ...untied, deleted: true }, true);
          break;
        case 'detach':
          if (complete) put({ ...note!, ...untied }, true);
          break;
        case 'untie':
          // A tombstone's fields never reach a client, so its version stays: no delta reports it again.
          if (complete) put({ ...note!, ...untied }, false);
          break;
      }
    }
  }

  return { results, lastMutationId: sequenced.lastMutationId, changed, created, bumped, liveDelta, skipped };
}

/** A note no longer tied to OnlyFans (merge.ts: tied only while OnlyFans lists it): a CRM note. */
const untied = { source: 'onlyautomator', onlyFansNoteId: null, importedContent: null } as const;

/**
 * The stored note as the conflict rules see it. Only text changes count as "edited since", and a
 * client's own last text change is never stale to it: its base is lifted to that change.
 */
function decisionView(
  stored: ServerNote | undefined,
  baseVersion: number,
  clientId: string | null,
): { view: StoredNote | undefined; baseVersion: number } {
  if (stored === undefined) return { view: undefined, baseVersion };
  const own = clientId !== null && stored.contentClientId === clientId;
  return {
    view: {
      id: stored.id,
      content: stored.content,
      type: stored.type,
      color: stored.color,
      isPinned: stored.isPinned,
      version: stored.contentVersion,
      deleted: stored.deleted,
    },
    baseVersion: own ? Math.max(baseVersion, stored.contentVersion) : baseVersion,
  };
}
