// The sync protocol's rules (DESIGN.md, "The sync protocol") checked on generated scripts: 2 to 4
// clients editing one fan's notes offline and online, with dropped responses, replayed and reordered
// requests, pipelined requests that arrive before the one they follow (gaps), skewed client clocks and
// OnlyFans snapshots, run against test/simulation.ts (sync-core's applyChanges served like the API
// serves it) and checked against a small reference model written from the rules, not from apply.ts.
//
// Properties, each checked on every generated script:
//   (a) replay: serving a request again changes nothing and answers only `duplicate`s with the
//       server's unchanged lastMutationId, when the replay follows it immediately (then the whole
//       response is the same), or later when it carries no OnlyFans snapshot and every mutation in it
//       was already processed. A snapshot replayed after other writes is merged again against the notes
//       as they are then (Run.replay says why that cannot be a no-op); mutations in a request that
//       first stopped at a gap are, on a later replay, processed for the first time.
//   (b) exactly once, in order: the ids a client's results apply (applied, conflict or rejected) are
//       1, 2, 3... in server order, each once, the results of a request stop at its first gap, and after
//       quiescence they are exactly 1..n for the n mutations the client made;
//   (c) no accepted text is lost (see ReferenceModel.checkNothingLost for the exact rule);
//   (d) deltas: every response's cursor is the fan's version; the delta from any earlier cursor, put on
//       the live set as it was at that cursor, is the full live set now; a client holding the set at
//       its cursor holds the full set after every response it receives;
//   (e) convergence: after quiescence every client's view is the server's live set;
//   (f) clocks: the same script run with other client clock offsets sends the same requests, gets the
//       same responses and ends in the same server state;
//   (g) OnlyFans ties: after every request, a note is tied to an OnlyFans id (and has source
//       `onlyfans`) only if the last merged snapshot lists that id, tombstones included;
//   (h) order: after any script, a CRM edit of an OnlyFans note and OnlyFans dropping that note end in
//       the same state, up to ids and versions, whichever reaches the server first (issue #19; its
//       own test, which runs each script twice).
// Each processed mutation is also checked against the model's decision rule, and each note it
// touched against the model's prediction (text, deletion, last-writer-wins type, colour and pin).
import { noteTypes, type Mutation, type MutationResult, type NoteType } from '@fannotes/contract';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { expect, test } from 'vitest';
import { decodeCursor, encodeCursor, type OnlyFansNoteText } from '../src/index.ts';
import { fcParams } from './fast-check.ts';
import {
  SimClient,
  SimServer,
  type LocalEdit,
  type PendingMutation,
  type ServerState,
  type SyncRequest,
  type SyncResponse,
  type SyncedNote,
} from './simulation.ts';

type Fields = Pick<LocalEdit, 'type' | 'color' | 'isPinned'>;
type Delivery = 'delivered' | 'dropped';

/**
 * One step of a script. `client` and `pick` are reduced modulo what exists when the step runs; `tied`
 * picks among the notes tied to OnlyFans when the client has any (they are few, and their merges are
 * where CRM edits and OnlyFans changes meet).
 */
type Step =
  | { kind: 'create'; client: number; fields: Fields }
  /** New text (and maybe other fields) for a note in the client's view. */
  | { kind: 'edit'; client: number; pick: number; tied: boolean; fields: Fields }
  /** Pin, colour or type only: the mutation carries the text the user sees, unchanged. */
  | { kind: 'restyle'; client: number; pick: number; tied: boolean; fields: Fields }
  | { kind: 'delete'; client: number; pick: number; tied: boolean }
  /**
   * `all`: the whole outbox; `unsent`: only mutations never sent (a pipelined request). `later`: the
   * request is held by the network and arrives at a `deliver` step (or is lost). `snapshot`: the
   * designated client, client 0 (the one looking at the fan on onlyfans.com), sends with the OnlyFans
   * notes as they are now.
   */
  | {
      kind: 'send';
      client: number;
      mode: 'all' | 'unsent';
      arrives: 'now' | 'later';
      response: Delivery;
      snapshot: boolean;
    }
  /**
   * Reordered delivery: the client's outbox goes out in a request the network holds, the user makes
   * a note, and a pipelined request with only that change arrives first (a gap, unless the server has
   * already processed the held ones); the held request arrives at a later `deliver`, or is lost.
   */
  | { kind: 'pipeline'; client: number; response: Delivery }
  | { kind: 'deliver'; pick: number; response: Delivery }
  | { kind: 'lose'; pick: number }
  /** The network repeats a request the server already served (`pick` 0: the client's latest). */
  | { kind: 'replay'; client: number; pick: number; response: Delivery }
  | { kind: 'audit'; pick: number }
  /** A change on onlyfans.com: a note added, re-worded, removed, or re-worded to the CRM's text. */
  | { kind: 'onlyFans'; change: 'add' | 'edit' | 'remove' | 'catchUp'; pick: number };

interface Script {
  clientCount: number;
  steps: Step[];
}

const colors = ['#FF0000', '#00AA00', null] as const;
const fieldsArb: fc.Arbitrary<Fields> = fc.record(
  {
    type: fc.constantFrom<NoteType>(...noteTypes),
    color: fc.constantFrom(...colors),
    isPinned: fc.boolean(),
  },
  { requiredKeys: [] },
);
const restyleArb: fc.Arbitrary<Fields> = fc.oneof(
  fc.record({ isPinned: fc.boolean() }),
  fc.record({ color: fc.constantFrom(...colors) }),
  fc.record({ type: fc.constantFrom<NoteType>(...noteTypes) }),
);
const clientArb = fc.nat({ max: 3 });
const pickArb = fc.nat({ max: 20 });
const tiedArb = fc.constantFrom(false, false, true);
const deliveryArb = fc.constantFrom<Delivery>('delivered', 'delivered', 'dropped');

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('create'), client: clientArb, fields: fieldsArb }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('edit'),
      client: clientArb,
      pick: pickArb,
      tied: tiedArb,
      fields: fieldsArb,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('restyle'),
      client: clientArb,
      pick: pickArb,
      tied: tiedArb,
      fields: restyleArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('delete'), client: clientArb, pick: pickArb, tied: tiedArb }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('send'),
      client: clientArb,
      mode: fc.constantFrom('all', 'all', 'all', 'unsent'),
      arrives: fc.constantFrom('now', 'now', 'now', 'later'),
      response: deliveryArb,
      snapshot: fc.constantFrom(false, false, true),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('pipeline'), client: clientArb, response: deliveryArb }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('deliver'), pick: pickArb, response: deliveryArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('lose'), pick: pickArb }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('replay'),
      client: clientArb,
      pick: fc.nat({ max: 3 }),
      response: deliveryArb,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('audit'), pick: pickArb }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('onlyFans'),
      change: fc.constantFrom('add', 'edit', 'edit', 'remove', 'catchUp'),
      pick: pickArb,
    }),
  },
);

const MAX_STEPS = 60;
const scriptArb: fc.Arbitrary<Script> = fc.record({
  clientCount: fc.integer({ min: 2, max: 4 }),
  steps: fc.array(stepArb, { maxLength: MAX_STEPS, size: 'max' }),
});
// Client clock offsets: up to a day either way, in milliseconds.
const offsetsArb = fc.array(fc.integer({ min: -86_400_000, max: 86_400_000 }), {
  minLength: 4,
  maxLength: 4,
});

const ONLY_FANS_IDS = ['of-1', 'of-2', 'of-3'];

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
class ReferenceModel {
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

/**
 * The server's notes, tombstones included, without what depends on the order of events alone: ids and
 * versions (a conflict copy names its note by text). In a canonical order.
 */
function normalState(state: ServerState) {
  const textOf = (id: string | null) => (id === null ? null : state.notes.get(id)!.content);
  return [...state.notes.values()]
    .map(({ id: _id, version: _version, contentVersion: _contentVersion, conflictOf, ...rest }) =>
      JSON.stringify({ ...rest, conflictOf: textOf(conflictOf) }),
    )
    .sort();
}

const sortById = (notes: Iterable<SyncedNote>) => [...notes].sort((a, b) => (a.id < b.id ? -1 : 1));

interface Served {
  request: SyncRequest;
  response: SyncResponse;
  /** The server's count of served requests right after this one. */
  serial: number;
}

/**
 * One execution of a script; every check throws on the first broken rule. (node:assert rather than
 * `expect`: a run makes thousands of checks, and vitest's per-assertion bookkeeping would dominate.)
 */
class Run {
  readonly server = new SimServer();
  readonly clients: SimClient[];
  readonly model = new ReferenceModel();
  /** Every request and response on the wire, in order (for the clock property). */
  readonly wire: { request: SyncRequest; response: SyncResponse }[] = [];
  /** The fan's notes on onlyfans.com: most fans there have one note from the start. */
  private readonly onlyFans = new Map([['of-1', 'onlyfans:text0']]);
  private nextOnlyFansText = 1;
  private readonly held: SyncRequest[] = [];
  private readonly served = new Map<string, Served[]>();
  private serial = 0;
  private readonly issued: { cursor: string; live: SyncedNote[] }[] = [];
  private readonly appliedIds = new Map<string, number[]>();
  private readonly made = new Map<string, PendingMutation[]>();
  private now = 0;
  /** What happened, for the report: outcomes, gaps, replays checked as no-ops, deltas audited. */
  readonly tally = {
    applied: 0,
    conflict: 0,
    rejected: 0,
    gaps: 0,
    replays: 0,
    lateReplays: 0,
    snapshots: 0,
    audits: 0,
  };

  constructor(clientCount: number, offsets: readonly number[]) {
    this.clients = Array.from({ length: clientCount }, (_, index) => {
      const label = String.fromCharCode(97 + index);
      return new SimClient(`client-${label}`, label, offsets[index] ?? 0);
    });
    for (const client of this.clients) {
      this.made.set(client.clientId, []);
      this.appliedIds.set(client.clientId, []);
    }
  }

  step(step: Step): void {
    this.now += 1000;
    switch (step.kind) {
      case 'create':
        this.record(this.client(step.client), (client) => client.create(step.fields, this.now));
        return;
      case 'edit':
      case 'restyle':
      case 'delete': {
        const client = this.client(step.client);
        const all = client.noteIds();
        const view = client.view();
        const tied = all.filter((id) => view.get(id)!.onlyFansNoteId !== null);
        const ids = step.tied && tied.length > 0 ? tied : all;
        if (ids.length === 0) return;
        const noteId = ids[step.pick % ids.length]!;
        this.record(client, () => {
          if (step.kind === 'delete') client.remove(noteId, this.now);
          else if (step.kind === 'edit')
            client.edit(noteId, { ...step.fields, content: client.newText() }, this.now);
          else client.edit(noteId, step.fields, this.now);
        });
        return;
      }
      case 'send': {
        const client = step.snapshot ? this.clients[0]! : this.client(step.client);
        const request = client.request(step.mode, step.snapshot ? this.onlyFansNotes() : undefined);
        if (step.arrives === 'later') this.held.push(request);
        else this.serve(request, step.response);
        return;
      }
      case 'pipeline': {
        const client = this.client(step.client);
        this.held.push(client.request('all'));
        this.record(client, () => client.create({}, this.now));
        this.serve(client.request('unsent'), step.response);
        return;
      }
      case 'deliver':
      case 'lose': {
        if (this.held.length === 0) return;
        const [request] = this.held.splice(step.pick % this.held.length, 1);
        if (step.kind === 'deliver') this.serve(request!, step.response);
        return;
      }
      case 'replay': {
        const list = this.served.get(this.client(step.client).clientId) ?? [];
        if (list.length === 0) return;
        this.replay(list[list.length - 1 - (step.pick % list.length)]!, step.response);
        return;
      }
      case 'audit':
        if (this.issued.length > 0) this.audit(this.issued[step.pick % this.issued.length]!);
        return;
      case 'onlyFans':
        this.changeOnlyFans(step.change, step.pick);
        return;
    }
  }

  /** Every held request arrives, then each client sends its outbox until it is empty, then one more round. */
  quiesce(): void {
    while (this.held.length > 0) this.serve(this.held.shift()!, 'delivered');
    for (let round = 0; round < 2; round++) {
      for (const client of this.clients) this.serve(client.request('all'), 'delivered');
    }
    const live = this.server.liveNotes();
    for (const client of this.clients) {
      assert.deepEqual(client.outbox, [], `${client.clientId}'s outbox after quiescence`);
      // (e) convergence.
      assert.deepEqual(sortById(client.view().values()), live, `${client.clientId}'s view after quiescence`);
      // (b) every mutation the client made was processed, once, in order.
      assert.deepEqual(
        this.appliedIds.get(client.clientId),
        Array.from({ length: client.mutationCount }, (_, index) => index + 1),
        `${client.clientId}'s processed mutation ids`,
      );
    }
    // (d) from every cursor handed out during the run.
    for (const entry of this.issued) this.audit(entry);
    for (const cursor of [undefined, 'not-a-cursor', encodeCursor(this.server.state.version + 1)]) {
      const page = this.server.read(cursor);
      assert.equal(page.reset, true, `reset for cursor ${cursor}`);
      assert.deepEqual(page.notes, live);
    }
    // (c)
    this.model.checkNothingLost(live);
  }

  /**
   * (h) After the script: `editorPick` (a client other than client 0) edits the text of an OnlyFans note
   * offline while OnlyFans drops that note; the edit reaches the server before or after the snapshot
   * client 0 sends (`order`); then OnlyFans lists a new note under the dropped id. Returns the server's
   * notes at the end without ids and versions (normalState), or null if there was no OnlyFans note.
   */
  editAndDrop(order: 'edit first' | 'drop first', editorPick: number, notePick: number) {
    if (this.onlyFans.size === 0) this.changeOnlyFans('add', 0);
    const snapshot = () => this.serve(this.clients[0]!.request('all', this.onlyFansNotes()), 'delivered');
    snapshot();
    this.quiesce();
    const tied = this.server.liveNotes().filter((note) => note.onlyFansNoteId !== null);
    if (tied.length === 0) return null;
    const { id, onlyFansNoteId } = tied[notePick % tied.length]!;
    const editor = this.clients[1 + (editorPick % (this.clients.length - 1))]!;
    this.record(editor, () => editor.edit(id, { content: editor.newText() }, this.now));
    this.onlyFans.delete(onlyFansNoteId!);
    const edit = () => this.serve(editor.request('all'), 'delivered');
    if (order === 'edit first') edit();
    snapshot();
    if (order === 'drop first') edit();
    this.onlyFans.set(onlyFansNoteId!, `onlyfans:text${this.nextOnlyFansText++}`);
    snapshot();
    this.quiesce();
    return normalState(this.server.state);
  }

  private client(index: number): SimClient {
    return this.clients[index % this.clients.length]!;
  }

  private record(client: SimClient, change: (client: SimClient) => void): void {
    const before = client.outbox.length;
    change(client);
    this.made.get(client.clientId)!.push(...client.outbox.slice(before));
  }

  private onlyFansNotes(): OnlyFansNoteText[] {
    return [...this.onlyFans].sort().map(([onlyFansNoteId, content]) => ({ onlyFansNoteId, content }));
  }

  private changeOnlyFans(change: 'add' | 'edit' | 'remove' | 'catchUp', pick: number): void {
    const present = [...this.onlyFans.keys()].sort();
    const absent = ONLY_FANS_IDS.filter((id) => !this.onlyFans.has(id));
    if (change === 'add') {
      if (absent.length > 0)
        this.onlyFans.set(absent[pick % absent.length]!, `onlyfans:text${this.nextOnlyFansText++}`);
      return;
    }
    if (present.length === 0) return;
    const onlyFansNoteId = present[pick % present.length]!;
    if (change === 'edit') this.onlyFans.set(onlyFansNoteId, `onlyfans:text${this.nextOnlyFansText++}`);
    if (change === 'remove') this.onlyFans.delete(onlyFansNoteId);
    if (change === 'catchUp') {
      // Someone copies the CRM's text of the note onto OnlyFans.
      const tied = this.server.liveNotes().find((note) => note.onlyFansNoteId === onlyFansNoteId);
      if (tied) this.onlyFans.set(onlyFansNoteId, tied.content);
    }
  }

  private serve(request: SyncRequest, delivery: Delivery): SyncResponse {
    const state = this.server.state;
    const stored = state.lastMutationIdByClient.get(request.clientId) ?? 0;
    const response = this.server.serve(request);
    this.serial += 1;
    this.wire.push(structuredClone({ request, response }));
    this.checkSequencing(request, response, stored);
    const made = this.made.get(request.clientId)!;
    this.model.process(request, response, (id) => made[id - 1]!, state);
    if (request.onlyFansNotes !== undefined) {
      this.tally.snapshots += 1;
      this.model.merged(request.onlyFansNotes);
    }
    this.model.observe(state);
    this.model.checkTies(state);

    // (d) the cursor is the fan's version, and a client holding the set at its cursor gets the full set.
    const live = this.server.liveNotes();
    assert.equal(response.cursor, encodeCursor(state.version));
    this.issued.push({ cursor: response.cursor, live });
    const served = this.served.get(request.clientId) ?? [];
    served.push({ request, response, serial: this.serial });
    this.served.set(request.clientId, served);
    if (delivery === 'delivered') {
      const client = this.clients.find((candidate) => candidate.clientId === request.clientId)!;
      client.receive(response, this.now);
      assert.deepEqual(
        sortById(client.confirmed.values()),
        live,
        `${client.clientId}'s notes after a response`,
      );
    }
    return response;
  }

  /** (b) per request: results follow the sequencing table, and processed ids continue 1, 2, 3... */
  private checkSequencing(request: SyncRequest, response: SyncResponse, stored: number): void {
    const expected: { id: number; duplicate: boolean }[] = [];
    let last = stored;
    for (const { id } of request.mutations) {
      if (id > last + 1) {
        this.tally.gaps += 1;
        break; // a gap: nothing from here on is processed
      }
      expected.push({ id, duplicate: id <= last });
      last = Math.max(last, id);
    }
    assert.deepEqual(
      response.results.map(({ id, status }) => ({ id, duplicate: status === 'duplicate' })),
      expected,
      `results of ${request.clientId}'s request`,
    );
    assert.equal(response.lastMutationId, last);
    assert.equal(this.server.state.lastMutationIdByClient.get(request.clientId) ?? 0, last);
    const applied = this.appliedIds.get(request.clientId)!;
    for (const result of response.results) {
      const mutation = request.mutations.find(({ id }) => id === result.id)!;
      assert.equal(result.noteId, mutation.noteId);
      if (result.status === 'duplicate') continue;
      const possible = mutation.op === 'delete' ? ['applied', 'rejected'] : ['applied', 'conflict'];
      assert.ok(possible.includes(result.status), `${mutation.op} answered ${result.status}`);
      assert.equal(result.id, applied.length + 1, `${request.clientId}'s next processed id`);
      applied.push(result.id);
      this.tally[result.status] += 1;
    }
  }

  /** (a) A repeated request. */
  private replay(original: Served, delivery: Delivery): void {
    const { request } = original;
    const immediate = original.serial === this.serial;
    const stored = this.server.state.lastMutationIdByClient.get(request.clientId) ?? 0;
    // A snapshot is OnlyFans' word on its notes, merged against the notes as they are when it
    // arrives, and it carries nothing that dates it. Once anything changed since its first merge,
    // merging it again is a new merge: an older snapshot arriving after a newer one takes OnlyFans'
    // older text back, and imports again as new notes those the newer one dropped (until the next
    // snapshot). Nothing accepted is lost either way (property c).
    const noOp =
      immediate || (request.onlyFansNotes === undefined && request.mutations.every(({ id }) => id <= stored));
    const before = structuredClone(this.server.state);
    const response = this.serve(request, delivery);
    if (!noOp) return;
    this.tally[immediate ? 'replays' : 'lateReplays'] += 1;
    assert.deepEqual(this.server.state, before, 'server state after a replay');
    assert.ok(
      response.results.every(({ status }) => status === 'duplicate'),
      'a replay answers duplicates',
    );
    assert.equal(response.lastMutationId, stored);
    if (immediate) {
      const strip = ({ results, ...rest }: SyncResponse) => ({ ...rest, ids: results.map(({ id }) => id) });
      assert.deepEqual(strip(response), strip(original.response), 'an immediate replay answers the same');
    }
  }

  /** (d) The delta from an earlier cursor, put on the live set at that cursor, is the live set now. */
  private audit(entry: { cursor: string; live: SyncedNote[] }): void {
    this.tally.audits += 1;
    const page = this.server.read(entry.cursor);
    const since = decodeCursor(entry.cursor)!;
    assert.equal(page.reset, false, `reset for cursor ${entry.cursor}`);
    assert.equal(page.cursor, encodeCursor(this.server.state.version));
    assert.ok(
      page.notes.every((note) => note.version > since),
      `a note older than ${entry.cursor} in its delta`,
    );
    const rebuilt = new Map(entry.live.map((note) => [note.id, note]));
    for (const id of page.deletedNoteIds) rebuilt.delete(id);
    for (const note of page.notes) rebuilt.set(note.id, note);
    assert.deepEqual(sortById(rebuilt.values()), this.server.liveNotes(), `delta from ${entry.cursor}`);
  }
}

/** A fan with two teammates' clients, for the examples. */
function scene() {
  const server = new SimServer();
  const alice = new SimClient('client-alice', 'alice', 0);
  const bob = new SimClient('client-bob', 'bob', 0);
  const log: string[] = [];
  const serve = (request: SyncRequest) => {
    const response = server.serve(request);
    log.push(...response.results.map(({ id, status }) => `${request.clientId.slice(7)} #${id} ${status}`));
    return response;
  };
  const sync = (client: SimClient, options: { onlyFans?: OnlyFansNoteText[]; drop?: boolean } = {}) => {
    const response = serve(client.request('all', options.onlyFans));
    if (!options.drop) client.receive(response, 0);
  };
  const idOf = (client: SimClient, content: string) =>
    [...client.view().values()].find((note) => note.content === content)!.id;
  const onlyFans = (content?: string) => (content === undefined ? [] : [{ onlyFansNoteId: 'of-1', content }]);
  return { server, alice, bob, log, serve, sync, idOf, onlyFans };
}
type Scene = ReturnType<typeof scene>;

test.each<{
  name: string;
  story: (scene: Scene) => void;
  /** Every non-empty answer, in order: `<client> #<mutation id> <status>`. */
  results: string[];
  /** The live notes at the end, by text: `conflictOf` and OnlyFans ties shown by text and id. */
  notes: {
    content: string;
    conflictOf?: string;
    source?: 'onlyfans';
    onlyFansNoteId?: string;
    isPinned?: true;
  }[];
}>([
  {
    name: 'an offline edit of a note a teammate edited meanwhile becomes a conflict copy',
    story: ({ alice, bob, sync, idOf }) => {
      alice.create({ content: 'likes cats' }, 0);
      sync(alice);
      sync(bob);
      const id = idOf(bob, 'likes cats');
      alice.edit(id, { content: 'likes cats and dogs' }, 0);
      bob.edit(id, { content: 'likes cats, allergic to dogs' }, 0);
      sync(bob);
      sync(alice);
    },
    results: ['alice #1 applied', 'bob #1 applied', 'alice #2 conflict'],
    notes: [
      { content: 'likes cats and dogs', conflictOf: 'likes cats, allergic to dogs' },
      { content: 'likes cats, allergic to dogs' },
    ],
  },
  {
    name: 'a delete based on a version older than a teammate’s edit is rejected, and the client moves on',
    story: ({ alice, bob, sync, idOf }) => {
      alice.create({ content: 'likes cats' }, 0);
      sync(alice);
      sync(bob);
      const id = idOf(bob, 'likes cats');
      bob.edit(id, { content: 'likes dogs' }, 0);
      sync(bob);
      alice.remove(id, 0);
      sync(alice);
    },
    results: ['alice #1 applied', 'bob #1 applied', 'alice #2 rejected'],
    notes: [{ content: 'likes dogs' }],
  },
  {
    name: 'a request resent after its response was dropped is answered as a duplicate',
    story: ({ alice, sync }) => {
      alice.create({ content: 'likes cats' }, 0);
      sync(alice, { drop: true });
      sync(alice);
    },
    results: ['alice #1 applied', 'alice #1 duplicate'],
    notes: [{ content: 'likes cats' }],
  },
  {
    name: 'a client’s own offline edits never conflict with each other, even after a dropped response',
    story: ({ alice, sync, idOf }) => {
      alice.create({ content: 'likes cats' }, 0);
      sync(alice);
      const id = idOf(alice, 'likes cats');
      alice.edit(id, { content: 'likes cats a lot' }, 0);
      sync(alice, { drop: true });
      alice.edit(id, { content: 'likes cats very much' }, 0);
      sync(alice);
    },
    results: ['alice #1 applied', 'alice #2 applied', 'alice #2 duplicate', 'alice #3 applied'],
    notes: [{ content: 'likes cats very much' }],
  },
  {
    name: 'a request that overtakes an earlier one stops at the gap; the earlier one then applies once',
    story: ({ alice, serve, sync }) => {
      alice.create({ content: 'first' }, 0);
      const earlier = alice.request('all');
      alice.create({ content: 'second' }, 0);
      const gap = serve(alice.request('unsent'));
      expect([gap.results, gap.lastMutationId]).toEqual([[], 0]);
      alice.receive(gap, 0);
      alice.receive(serve(earlier), 0);
      sync(alice);
    },
    results: ['alice #1 applied', 'alice #2 applied'],
    notes: [{ content: 'first' }, { content: 'second' }],
  },
  {
    name: 'an edit stacked on a queued edit keeps its base, so a teammate’s text that arrived meanwhile is kept',
    story: ({ alice, bob, serve, sync, idOf }) => {
      alice.create({ content: 'likes cats' }, 0);
      sync(alice);
      sync(bob);
      const id = idOf(bob, 'likes cats');
      alice.edit(id, { content: 'likes cats a lot' }, 0);
      const inFlight = alice.request('all');
      bob.edit(id, { content: 'likes dogs' }, 0);
      sync(bob);
      alice.create({ content: 'tips on Fridays' }, 0);
      // A response brings bob's text while alice's edit is still queued: she still sees her own text.
      alice.receive(serve(alice.request('unsent')), 0);
      alice.edit(id, { content: 'likes cats very much' }, 0);
      alice.receive(serve(inFlight), 0);
      sync(alice);
    },
    results: [
      'alice #1 applied',
      'bob #1 applied',
      'alice #2 conflict',
      'alice #3 applied',
      'alice #4 conflict',
    ],
    notes: [
      { content: 'likes cats a lot', conflictOf: 'likes dogs' },
      { content: 'likes cats very much', conflictOf: 'likes dogs' },
      { content: 'likes dogs' },
      { content: 'tips on Fridays' },
    ],
  },
  {
    name: 'a pin made on an outdated note pins it, and the outdated text it carries is kept as a copy',
    story: ({ alice, bob, sync, idOf }) => {
      alice.create({ content: 'likes cats' }, 0);
      sync(alice);
      sync(bob);
      const id = idOf(bob, 'likes cats');
      bob.edit(id, { content: 'likes dogs' }, 0);
      sync(bob);
      alice.edit(id, { isPinned: true }, 0);
      sync(alice);
    },
    results: ['alice #1 applied', 'bob #1 applied', 'alice #2 conflict'],
    notes: [
      { content: 'likes cats', conflictOf: 'likes dogs', isPinned: true },
      { content: 'likes dogs', isPinned: true },
    ],
  },
  {
    name: 'an OnlyFans note edited in the CRM and then changed on OnlyFans keeps both texts',
    story: ({ alice, sync, idOf, onlyFans }) => {
      sync(alice, { onlyFans: onlyFans('likes cats') });
      alice.edit(idOf(alice, 'likes cats'), { content: 'likes cats, not dogs' }, 0);
      sync(alice);
      sync(alice, { onlyFans: onlyFans('likes kittens') });
    },
    results: ['alice #1 applied'],
    notes: [
      { content: 'likes cats, not dogs', source: 'onlyfans', onlyFansNoteId: 'of-1' },
      { content: 'likes kittens', conflictOf: 'likes cats, not dogs' },
    ],
  },
  {
    name: 'an OnlyFans note deleted on OnlyFans after a CRM edit is detached and kept',
    story: ({ alice, sync, idOf, onlyFans }) => {
      sync(alice, { onlyFans: onlyFans('likes cats') });
      alice.edit(idOf(alice, 'likes cats'), { content: 'likes cats, not dogs' }, 0);
      sync(alice);
      sync(alice, { onlyFans: onlyFans() });
    },
    results: ['alice #1 applied'],
    notes: [{ content: 'likes cats, not dogs' }],
  },
  {
    name: 'an OnlyFans note deleted on OnlyFans and not edited in the CRM is deleted',
    story: ({ alice, sync, onlyFans }) => {
      sync(alice, { onlyFans: onlyFans('likes cats') });
      sync(alice, { onlyFans: onlyFans() });
    },
    results: [],
    notes: [],
  },
  // Issue #19: the same two events in either order, a CRM edit of an OnlyFans note and OnlyFans
  // dropping that note, must end the same; so must OnlyFans' later note under the same id.
  {
    name: 'an OnlyFans note edited in the CRM before OnlyFans drops it stays a CRM note; a later OnlyFans note under its id is new',
    story: ({ alice, bob, sync, idOf, onlyFans }) => {
      sync(alice, { onlyFans: onlyFans('likes cats') });
      sync(bob);
      bob.edit(idOf(bob, 'likes cats'), { content: 'likes cats, not dogs' }, 0);
      sync(bob);
      sync(alice, { onlyFans: onlyFans() });
      sync(alice, { onlyFans: onlyFans('likes kittens') });
    },
    results: ['bob #1 applied'],
    notes: [
      { content: 'likes cats, not dogs' },
      { content: 'likes kittens', source: 'onlyfans', onlyFansNoteId: 'of-1' },
    ],
  },
  {
    name: 'an OnlyFans note revived by a CRM edit after OnlyFans dropped it becomes a CRM note; a later OnlyFans note under its id is new',
    story: ({ alice, bob, sync, idOf, onlyFans }) => {
      sync(alice, { onlyFans: onlyFans('likes cats') });
      sync(bob);
      // Bob edits offline the version he saw; his edit reaches the server after OnlyFans dropped the note.
      bob.edit(idOf(bob, 'likes cats'), { content: 'likes cats, not dogs' }, 0);
      sync(alice, { onlyFans: onlyFans() });
      sync(bob);
      sync(alice, { onlyFans: onlyFans('likes kittens') });
    },
    results: ['bob #1 applied'],
    notes: [
      { content: 'likes cats, not dogs' },
      { content: 'likes kittens', source: 'onlyfans', onlyFansNoteId: 'of-1' },
    ],
  },
  {
    name: 'an OnlyFans note deleted in the CRM, then dropped by OnlyFans, comes back from a CRM edit as a CRM note',
    story: ({ alice, bob, sync, idOf, onlyFans }) => {
      sync(alice, { onlyFans: onlyFans('likes cats') });
      sync(bob);
      const id = idOf(alice, 'likes cats');
      bob.edit(id, { content: 'likes cats, not dogs' }, 0);
      alice.remove(id, 0);
      sync(alice);
      sync(alice, { onlyFans: onlyFans() });
      sync(bob);
      sync(alice, { onlyFans: onlyFans('likes kittens') });
    },
    results: ['alice #1 applied', 'bob #1 applied'],
    notes: [
      { content: 'likes cats, not dogs' },
      { content: 'likes kittens', source: 'onlyfans', onlyFansNoteId: 'of-1' },
    ],
  },
  {
    name: 'a note OnlyFans drops and then lists again with the same text is imported again',
    story: ({ alice, sync, onlyFans }) => {
      sync(alice, { onlyFans: onlyFans('likes cats') });
      sync(alice, { onlyFans: onlyFans() });
      sync(alice, { onlyFans: onlyFans('likes cats') });
    },
    results: [],
    notes: [{ content: 'likes cats', source: 'onlyfans', onlyFansNoteId: 'of-1' }],
  },
  {
    name: 'an OnlyFans note deleted in the CRM stays deleted while OnlyFans keeps listing it',
    story: ({ alice, sync, idOf, onlyFans }) => {
      sync(alice, { onlyFans: onlyFans('likes cats') });
      alice.remove(idOf(alice, 'likes cats'), 0);
      sync(alice);
      sync(alice, { onlyFans: onlyFans('likes cats') });
    },
    results: ['alice #1 applied'],
    notes: [],
  },
])('$name', ({ story, results, notes }) => {
  const world = scene();
  story(world);
  const { server, alice, bob, log, sync } = world;
  const live = server.liveNotes();
  for (const client of [alice, bob, alice, bob]) sync(client);
  for (const client of [alice, bob]) expect(sortById(client.view().values())).toEqual(server.liveNotes());
  const contentOf = (id: string) => server.state.notes.get(id)!.content;
  expect({
    results: log,
    notes: live
      .map(({ content, conflictOf, source, onlyFansNoteId, isPinned }) => ({
        content,
        ...(conflictOf === null ? {} : { conflictOf: contentOf(conflictOf) }),
        ...(source === 'onlyfans' ? { source } : {}),
        ...(onlyFansNoteId === null ? {} : { onlyFansNoteId }),
        ...(isPinned ? { isPinned } : {}),
      }))
      .sort((a, b) => (a.content < b.content ? -1 : 1)),
  }).toEqual({ results, notes });
});

function runScript(script: Script, offsets: readonly number[]): Run {
  const run = new Run(script.clientCount, offsets);
  for (const step of script.steps) run.step(step);
  run.quiesce();
  return run;
}

// At least 1,000 scripts in every run of the suite (a few seconds); FC_RUNS raises it for a soak, and
// FC_SEED replays one. The seed is chosen here, not by fast-check, so that it is printed up front.
const numRuns = Math.max(1000, fcParams.numRuns);
const seed = fcParams.seed ?? Math.floor(Math.random() * 2 ** 31);

test(
  'generated scripts of several clients keep every rule of the sync protocol',
  { timeout: numRuns * 120 },
  () => {
    process.stdout.write(`sync protocol property: ${numRuns} runs, FC_SEED=${seed}\n`);
    let longest = 0;
    let requests = 0;
    const seen: Record<string, number> = {};
    try {
      fc.assert(
        fc.property(scriptArb, offsetsArb, offsetsArb, (script, offsets, otherOffsets) => {
          longest = Math.max(longest, script.steps.length);
          const run = runScript(script, offsets);
          requests += run.wire.length;
          const { untied, onlyFansCopies, revivedAfterDrop } = run.model;
          const counts = { ...run.tally, untied, onlyFansCopies, revivedAfterDrop };
          for (const [key, count] of Object.entries(counts)) {
            seen[key] = (seen[key] ?? 0) + count;
          }
          // (f) Client clocks never change outcomes.
          const skewed = runScript(script, otherOffsets);
          assert.deepEqual(skewed.wire, run.wire, 'requests and responses with other client clocks');
          assert.deepEqual(skewed.server.state, run.server.state, 'server state with other client clocks');
        }),
        { ...fcParams, seed, numRuns },
      );
    } catch (error) {
      throw new Error(`replay with FC_SEED=${seed} (runs: ${numRuns})\n${String(error)}`, { cause: error });
    }
    process.stdout.write(
      `sync protocol property: longest script ${longest} steps, ${requests} requests served, ${JSON.stringify(seen)}\n`,
    );
    // The scripts must keep making issue #19's order: an offline edit of an OnlyFans note that reaches
    // the server after a snapshot dropped the note (one script in a few dozen does).
    expect(seen.revivedAfterDrop).toBeGreaterThan(0);
  },
);

test(
  'a CRM edit of an OnlyFans note and OnlyFans dropping the note end the same in either order',
  { timeout: fcParams.numRuns * 50 },
  () => {
    const noSkew = [0, 0, 0, 0];
    let compared = 0;
    fc.assert(
      fc.property(scriptArb, fc.nat(), fc.nat(), (script, editorPick, notePick) => {
        const [editFirst, dropFirst] = (['edit first', 'drop first'] as const).map((order) =>
          runScript(script, noSkew).editAndDrop(order, editorPick, notePick),
        );
        if (editFirst !== null) compared += 1;
        assert.deepEqual(dropFirst, editFirst, 'the end state with the drop first, and with the edit first');
      }),
      fcParams,
    );
    // Nearly every script leaves an OnlyFans note to edit (editAndDrop makes sure OnlyFans has one).
    expect(compared).toBeGreaterThan(fcParams.numRuns / 2);
  },
);
