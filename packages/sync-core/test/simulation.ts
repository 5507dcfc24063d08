// An in-memory stand-in for the sync endpoint and for the extension's sync client, built only from
// sync-core's exported functions, for the protocol's model-based tests (sync-protocol.property.test.ts).
//
// The server mirrors apps/api (services/sync.ts, note-writes.ts, read-notes.ts): for a request with
// mutations or an OnlyFans snapshot it loads the notes the changes can touch, runs `applyChanges` as
// if inside the fan's row lock, writes `changed` back, moves the fan's version to the next one iff
// `bumped`, and stores the client's `lastMutationId`; then it reads the delta from the request's
// cursor (the full live set when there is no cursor or one it cannot answer: `reset`). Tombstones are
// kept forever here (the API purges old ones and resets cursors from before its horizon), and the
// throttle and lease are left out: a request with changes is always processed, one at a time.
//
// The protocol's scripts (protocol-run.ts) talk to a server through `SyncServer`, which is async so
// that the same scripts run against this simulation (`SimSyncServer`) and against the real API's
// procedures on a database (apps/api/test/protocol-scripts.test.ts).
//
// The client is what the extension does: mutations numbered 1, 2, 3... go to an outbox; a request
// carries the outbox and the last cursor; a response's delta is applied to the notes the client knows
// the server has (`confirmed`), acknowledged mutations (id <= lastMutationId) leave the outbox, and
// what the user sees is `confirmed` with the outbox replayed on top. Responses reach it in the order
// the server made them (requests may be held, lost, repeated or overtaken; a response is delivered at
// once or dropped). A delta from a cursor older than the client's own is still correct on top of its
// notes, so a response to a late request is applied like any other.
import type { Mutation, MutationResult, NoteType } from '@fannotes/contract';
import {
  applyChanges,
  baseVersionFor,
  decodeCursor,
  encodeCursor,
  type NoteWrite,
  type OnlyFansNoteText,
  type ServerNote,
} from '../src/index.ts';

/** A note as a response carries it: what a client can see (no timestamps or authors in this model). */
export interface SyncedNote {
  id: string;
  content: string;
  type: NoteType;
  color: string | null;
  isPinned: boolean;
  source: ServerNote['source'];
  onlyFansNoteId: string | null;
  conflictOf: string | null;
  version: number;
}

export interface SyncRequest {
  clientId: string;
  cursor?: string;
  mutations: Mutation[];
  onlyFansNotes?: OnlyFansNoteText[];
}

export interface NotesPage {
  cursor: string;
  reset: boolean;
  /** Live notes changed since the cursor (all live notes when `reset`), by id. */
  notes: SyncedNote[];
  deletedNoteIds: string[];
}

export interface SyncResponse extends NotesPage {
  results: MutationResult[];
  /**
   * The client's last processed mutation id, in a throttled read too (the API reads the client's row
   * in the statement that reads the notes). Null only for a request without a clientId.
   */
  lastMutationId: number | null;
  /** A read the API answered from stored notes without a full sync (`synchronized: false`). */
  throttled?: boolean;
}

export interface ServerState {
  /** Every note of the fan, tombstones included, by id. */
  notes: Map<string, ServerNote>;
  /** The fan's version: the cursor of the latest visible change. */
  version: number;
  /** Clients that have had a mutation processed (a client the server knows at 0 is left out). */
  lastMutationIdByClient: Map<string, number>;
  /**
   * What a server keeps beside the model's fields, by note id (the API's timestamps and authors):
   * compared like the rest, so a replay that rewrote a row with the same values would still show.
   */
  bookkeeping?: Map<string, unknown>;
}

/**
 * A sync endpoint for one fan, as the protocol's scripts see it: it serves a client's request, reads
 * the fan's notes from a cursor (a plain read: no client, no changes), and exposes the fan's state
 * for the invariants. Only the script writes to the fan, so the state after one request is the state
 * before the next.
 */
export interface SyncServer {
  serve(request: SyncRequest): Promise<SyncResponse>;
  read(cursor?: string): Promise<NotesPage>;
  /** A copy of the fan's state now: later requests do not change it. */
  state(): Promise<ServerState>;
}

/** The fan's live notes in a state, by id (what `read()` without a cursor holds). */
export function liveNotes(state: ServerState): SyncedNote[] {
  return [...state.notes.values()]
    .filter((note) => !note.deleted)
    .map(visible)
    .sort(byId);
}

export function visible(note: ServerNote): SyncedNote {
  const { id, content, type, color, isPinned, source, onlyFansNoteId, conflictOf, version } = note;
  return { id, content, type, color, isPinned, source, onlyFansNoteId, conflictOf, version };
}

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export class SimServer {
  readonly state: ServerState = {
    notes: new Map(),
    version: 0,
    lastMutationIdByClient: new Map(),
  };
  /** Server-made note ids are `note_s<n>`, counted from 1. */
  private nextNoteNumber = 1;
  /** Why each client's rejected mutations were rejected, by id (the API's sync_rejections). */
  private readonly rejections = new Map<string, Map<number, string>>();

  serve(request: SyncRequest): SyncResponse {
    const { state } = this;
    const stored = state.lastMutationIdByClient.get(request.clientId) ?? 0;
    let results: MutationResult[] = [];
    let lastMutationId = stored;
    if (request.mutations.length > 0 || request.onlyFansNotes !== undefined) {
      // note-writes.ts loadScope: the notes the mutations name and, with a snapshot, every note
      // of the fan with an OnlyFans id (tombstones included).
      const scope = new Map<string, ServerNote>();
      for (const { noteId } of request.mutations) {
        const note = state.notes.get(noteId);
        if (note) scope.set(noteId, note);
      }
      if (request.onlyFansNotes !== undefined) {
        for (const note of state.notes.values()) if (note.onlyFansNoteId !== null) scope.set(note.id, note);
      }
      const version = state.version + 1;
      const output = applyChanges({
        notes: scope,
        foreignNoteIds: new Set(),
        clientId: request.clientId,
        lastMutationId: stored,
        earlierRejections: this.rejections.get(request.clientId),
        mutations: request.mutations,
        onlyFansSnapshot:
          request.onlyFansNotes === undefined ? undefined : { notes: request.onlyFansNotes, complete: true },
        version,
        newNoteId: () => `note_s${this.nextNoteNumber++}`,
      });
      for (const note of output.changed.values()) state.notes.set(note.id, note);
      if (output.bumped) state.version = version;
      if (output.lastMutationId !== stored) {
        state.lastMutationIdByClient.set(request.clientId, output.lastMutationId);
      }
      results = output.results;
      lastMutationId = output.lastMutationId;
      for (const result of results) {
        if (result.status !== 'rejected') continue;
        const reasons = this.rejections.get(request.clientId) ?? new Map<number, string>();
        reasons.set(result.id, result.reason);
        this.rejections.set(request.clientId, reasons);
      }
    }
    return { results, lastMutationId, ...this.read(request.cursor) };
  }

  /** read-notes.ts: the delta from `cursor`, or the full live set when the cursor cannot be answered. */
  read(cursor?: string): NotesPage {
    const { notes, version } = this.state;
    const since = cursor === undefined ? null : decodeCursor(cursor);
    const reset = since === null || since > version;
    const rows = [...notes.values()]
      .filter((note) => (reset ? !note.deleted : note.version > since))
      .sort(byId);
    return {
      cursor: encodeCursor(version),
      reset,
      notes: rows.filter((note) => !note.deleted).map(visible),
      deletedNoteIds: rows.filter((note) => note.deleted).map((note) => note.id),
    };
  }

  liveNotes(): SyncedNote[] {
    return this.read().notes;
  }
}

/** The simulation behind the protocol's async server interface. */
export class SimSyncServer implements SyncServer {
  constructor(readonly sim = new SimServer()) {}

  serve(request: SyncRequest): Promise<SyncResponse> {
    return Promise.resolve(this.sim.serve(request));
  }

  read(cursor?: string): Promise<NotesPage> {
    return Promise.resolve(this.sim.read(cursor));
  }

  state(): Promise<ServerState> {
    return Promise.resolve(structuredClone(this.sim.state));
  }
}

/** A change the user makes; `content` undefined keeps the text shown (a pin, colour or type change). */
export interface LocalEdit {
  content?: string;
  type?: NoteType;
  color?: string | null;
  isPinned?: boolean;
}

export interface PendingMutation {
  mutation: Mutation;
  /** The text the user saw on the note when making the change (null: a note the client is creating). */
  seen: string | null;
  /** Client-side only, from the client's own clock: never sent. */
  queuedAt: number;
}

/**
 * A sync client with a possibly wrong clock. The clock only stamps what stays on the device (when a
 * change was queued, when the view last changed), because nothing in the protocol carries a client
 * time: outcomes are decided by server order alone.
 */
export class SimClient {
  /** The notes the server had at `cursor`, as the client last learned them. */
  readonly confirmed = new Map<string, SyncedNote>();
  outbox: PendingMutation[] = [];
  cursor: string | undefined;
  /** The highest mutation id put in any request so far (for pipelined requests). */
  sentUpTo = 0;
  /** Local-only bookkeeping stamped with the skewed clock. */
  readonly localEditedAt = new Map<string, number>();
  lastSyncedAt: number | null = null;
  private nextMutationId = 1;
  private nextNoteNumber = 1;
  private nextTextNumber = 1;

  constructor(
    readonly clientId: string,
    readonly label: string,
    readonly clockOffset: number,
  ) {}

  /** How many mutations this client has made: ids 1..mutationCount. */
  get mutationCount(): number {
    return this.nextMutationId - 1;
  }

  /** A text no one else writes, so that tests can follow each accepted text to where it ends up. */
  newText(): string {
    return `${this.label}:text${this.nextTextNumber++}`;
  }

  /** What the user sees: the confirmed notes with the outbox replayed on top, by id. */
  view(): Map<string, SyncedNote> {
    const view = new Map(this.confirmed);
    for (const { mutation } of this.outbox) {
      if (mutation.op === 'delete') {
        view.delete(mutation.noteId);
        continue;
      }
      const before = view.get(mutation.noteId);
      const { content, type, color, isPinned } = mutation.note;
      view.set(mutation.noteId, {
        id: mutation.noteId,
        source: 'onlyautomator',
        onlyFansNoteId: null,
        conflictOf: null,
        version: 0,
        type: 'personal',
        color: null,
        isPinned: false,
        ...before,
        content: content ?? before?.content ?? '',
        ...(type === undefined ? {} : { type }),
        ...(color === undefined ? {} : { color }),
        ...(isPinned === undefined ? {} : { isPinned }),
      });
    }
    return view;
  }

  /** The view's note ids in a clock-free order, for scripts that pick a note by index. */
  noteIds(): string[] {
    return [...this.view().keys()].sort();
  }

  create(edit: LocalEdit, now: number): string {
    const noteId = `note_${this.label}${this.nextNoteNumber++}`;
    this.queue(
      { op: 'upsert', noteId, baseVersion: 0, note: write(edit, edit.content ?? this.newText()) },
      null,
      now,
    );
    return noteId;
  }

  edit(noteId: string, edit: LocalEdit, now: number): void {
    const shown = this.view().get(noteId);
    if (!shown) throw new Error(`${this.label} has no note ${noteId}`);
    const note = write(edit, edit.content ?? shown.content);
    this.queue({ op: 'upsert', noteId, baseVersion: this.baseVersion(noteId), note }, shown.content, now);
  }

  remove(noteId: string, now: number): void {
    const shown = this.view().get(noteId);
    if (!shown) throw new Error(`${this.label} has no note ${noteId}`);
    this.queue({ op: 'delete', noteId, baseVersion: this.baseVersion(noteId) }, shown.content, now);
  }

  /**
   * A request: the whole outbox (`all`), or only mutations never sent before (`unsent`: a client
   * pipelining a second request while the first is in flight).
   */
  request(mode: 'all' | 'unsent' = 'all', onlyFansNotes?: OnlyFansNoteText[]): SyncRequest {
    const mutations = this.outbox
      .filter(({ mutation }) => mode === 'all' || mutation.id > this.sentUpTo)
      .map(({ mutation }) => structuredClone(mutation));
    this.sentUpTo = Math.max(this.sentUpTo, ...mutations.map((mutation) => mutation.id));
    return {
      clientId: this.clientId,
      ...(this.cursor === undefined ? {} : { cursor: this.cursor }),
      mutations,
      ...(onlyFansNotes === undefined ? {} : { onlyFansNotes: structuredClone(onlyFansNotes) }),
    };
  }

  receive(response: SyncResponse, now: number): void {
    if (response.reset) this.confirmed.clear();
    for (const id of response.deletedNoteIds) this.confirmed.delete(id);
    for (const note of response.notes) this.confirmed.set(note.id, structuredClone(note));
    this.cursor = response.cursor;
    const acknowledged = response.lastMutationId ?? 0;
    this.outbox = this.outbox.filter(({ mutation }) => mutation.id > acknowledged);
    this.lastSyncedAt = now + this.clockOffset;
  }

  /** The version of the text the user was shown (see `baseVersionFor`). */
  private baseVersion(noteId: string): number {
    const queued = this.outbox.map(({ mutation }) => mutation);
    return baseVersionFor(noteId, this.confirmed.get(noteId)?.version, queued);
  }

  private queue(change: DistributiveOmit<Mutation, 'id'>, seen: string | null, now: number): void {
    const mutation: Mutation = { ...change, id: this.nextMutationId++ };
    this.outbox.push({ mutation, seen, queuedAt: now + this.clockOffset });
    this.localEditedAt.set(mutation.noteId, now + this.clockOffset);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The mutation's note: the text always, the other fields only when the user changed them. */
function write(edit: LocalEdit, content: string): NoteWrite {
  return {
    content,
    ...(edit.type === undefined ? {} : { type: edit.type }),
    ...(edit.color === undefined ? {} : { color: edit.color }),
    ...(edit.isPinned === undefined ? {} : { isPinned: edit.isPinned }),
  };
}
