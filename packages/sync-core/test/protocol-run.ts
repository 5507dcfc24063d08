// One run of a generated script (protocol-scripts.ts) of the sync protocol's model-based tests: the
// script's clients (simulation.ts's SimClient) send their requests to a SyncServer, and every rule of
// DESIGN.md ("The sync protocol") is checked after every request against a small reference model
// (reference-model.ts), written from the rules, not from apply.ts. The server is sync-core's
// simulation (sync-protocol.property.test.ts) or the real API's procedures on a database
// (apps/api/test/protocol-scripts.test.ts).
//
// Properties checked by a run, on every request of every script:
//   (a) replay: serving a request again changes nothing and answers only `duplicate`s with the
//       server's unchanged lastMutationId, when the replay follows it immediately (then the whole
//       response is the same), or later when it carries no OnlyFans snapshot and every mutation in it
//       was already processed. A snapshot replayed after other writes is merged again against the notes
//       as they are then (Run.replay says why that cannot be a no-op); mutations in a request that
//       first stopped at a gap are, on a later replay, processed for the first time.
//   (b) exactly once, in order: the ids a client's results apply (applied, conflict or rejected) are
//       1, 2, 3... in server order, each once, the results of a request stop at its first gap, and after
//       quiescence they are exactly 1..n for the n mutations the client made; only a read without
//       changes may be throttled (its lastMutationId is still the client's last processed id);
//   (c) no accepted text is lost (see ReferenceModel.checkNothingLost for the exact rule);
//   (d) deltas: every response's cursor is the fan's version; the delta from any earlier cursor, put on
//       the live set as it was at that cursor, is the full live set now; a client holding the set at
//       its cursor holds the full set after every response it receives;
//   (e) convergence: after quiescence every client's view is the server's live set;
//   (g) OnlyFans ties: after every request, a note is tied to an OnlyFans id (and has source
//       `onlyfans`) only if the last merged snapshot lists that id, tombstones included.
// The test files compare two runs of a script for (f), client clocks never change outcomes, and (h),
// a CRM edit of an OnlyFans note and OnlyFans dropping the note end the same in either order
// (Run.editAndDrop).
// Each processed mutation is also checked against the model's decision rule, and each note it
// touched against the model's prediction (text, deletion, last-writer-wins type, colour and pin).
import assert from 'node:assert/strict';
import { decodeCursor, encodeCursor, type OnlyFansNoteText } from '../src/index.ts';
import { ONLY_FANS_IDS, type Delivery, type Script, type Step } from './protocol-scripts.ts';
import { ReferenceModel } from './reference-model.ts';
import {
  liveNotes,
  SimClient,
  type PendingMutation,
  type ServerState,
  type SyncRequest,
  type SyncResponse,
  type SyncServer,
  type SyncedNote,
} from './simulation.ts';

/**
 * The server's notes, tombstones included, without what depends on the order of events alone: ids and
 * versions (a conflict copy names its note by text). In a canonical order.
 */
export function normalState(state: ServerState) {
  const textOf = (id: string | null) => (id === null ? null : state.notes.get(id)!.content);
  return [...state.notes.values()]
    .map(({ id: _id, version: _version, contentVersion: _contentVersion, conflictOf, ...rest }) =>
      JSON.stringify({ ...rest, conflictOf: textOf(conflictOf) }),
    )
    .sort();
}

export const sortById = (notes: Iterable<SyncedNote>) => [...notes].sort((a, b) => (a.id < b.id ? -1 : 1));

interface Served {
  request: SyncRequest;
  response: SyncResponse;
  /** The server's count of served requests right after this one. */
  serial: number;
}

/** Runs a script on `server` (a fresh fan) to quiescence, checking every rule on the way. */
export async function runScript(
  server: SyncServer,
  script: Script,
  offsets: readonly number[],
): Promise<Run> {
  const run = await Run.start(server, script.clientCount, offsets);
  for (const step of script.steps) await run.step(step);
  await run.quiesce();
  return run;
}

/**
 * One execution of a script; every check throws on the first broken rule. (node:assert rather than
 * `expect`: a run makes thousands of checks, and vitest's per-assertion bookkeeping would dominate.)
 */
export class Run {
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
    throttledReads: 0,
  };

  static async start(server: SyncServer, clientCount: number, offsets: readonly number[]): Promise<Run> {
    return new Run(server, clientCount, offsets, await server.state());
  }

  private constructor(
    readonly server: SyncServer,
    clientCount: number,
    offsets: readonly number[],
    /**
     * The server's state after the last request served: its state before the next one too, since
     * only this run writes to the fan (reads write no notes).
     */
    public state: ServerState,
  ) {
    this.clients = Array.from({ length: clientCount }, (_, index) => {
      const label = String.fromCharCode(97 + index);
      return new SimClient(`client-${label}`, label, offsets[index] ?? 0);
    });
    for (const client of this.clients) {
      this.made.set(client.clientId, []);
      this.appliedIds.set(client.clientId, []);
    }
  }

  async step(step: Step): Promise<void> {
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
        else await this.serve(request, step.response);
        return;
      }
      case 'pipeline': {
        const client = this.client(step.client);
        this.held.push(client.request('all'));
        this.record(client, () => client.create({}, this.now));
        await this.serve(client.request('unsent'), step.response);
        return;
      }
      case 'deliver':
      case 'lose': {
        if (this.held.length === 0) return;
        const [request] = this.held.splice(step.pick % this.held.length, 1);
        if (step.kind === 'deliver') await this.serve(request!, step.response);
        return;
      }
      case 'replay': {
        const list = this.served.get(this.client(step.client).clientId) ?? [];
        if (list.length === 0) return;
        await this.replay(list[list.length - 1 - (step.pick % list.length)]!, step.response);
        return;
      }
      case 'audit':
        if (this.issued.length > 0) await this.audit(this.issued[step.pick % this.issued.length]!);
        return;
      case 'onlyFans':
        this.changeOnlyFans(step.change, step.pick);
        return;
    }
  }

  /** Every held request arrives, then each client sends its outbox until it is empty, then one more round. */
  async quiesce(): Promise<void> {
    while (this.held.length > 0) await this.serve(this.held.shift()!, 'delivered');
    for (let round = 0; round < 2; round++) {
      for (const client of this.clients) await this.serve(client.request('all'), 'delivered');
    }
    const live = liveNotes(this.state);
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
    // (d) from every cursor handed out during the run. Every response that handed out a cursor saw
    // the same live set (a visible change always moves the version), so one read per cursor will do.
    const audited = new Map<string, SyncedNote[]>();
    for (const entry of this.issued) {
      const seen = audited.get(entry.cursor);
      if (seen) {
        assert.deepEqual(entry.live, seen, `the live set at ${entry.cursor}, seen twice`);
        continue;
      }
      audited.set(entry.cursor, entry.live);
      await this.audit(entry);
    }
    for (const cursor of [undefined, 'not-a-cursor', encodeCursor(this.state.version + 1)]) {
      const page = await this.server.read(cursor);
      assert.equal(page.reset, true, `reset for cursor ${cursor}`);
      assert.deepEqual(page.notes, live, `the full set for cursor ${cursor}`);
      assert.deepEqual(page.deletedNoteIds, []);
      assert.equal(page.cursor, encodeCursor(this.state.version));
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
  async editAndDrop(order: 'edit first' | 'drop first', editorPick: number, notePick: number) {
    if (this.onlyFans.size === 0) this.changeOnlyFans('add', 0);
    const snapshot = () => this.serve(this.clients[0]!.request('all', this.onlyFansNotes()), 'delivered');
    await snapshot();
    await this.quiesce();
    const tied = liveNotes(this.state).filter((note) => note.onlyFansNoteId !== null);
    if (tied.length === 0) return null;
    const { id, onlyFansNoteId } = tied[notePick % tied.length]!;
    const editor = this.clients[1 + (editorPick % (this.clients.length - 1))]!;
    this.record(editor, () => editor.edit(id, { content: editor.newText() }, this.now));
    this.onlyFans.delete(onlyFansNoteId!);
    const edit = () => this.serve(editor.request('all'), 'delivered');
    if (order === 'edit first') await edit();
    await snapshot();
    if (order === 'drop first') await edit();
    this.onlyFans.set(onlyFansNoteId!, `onlyfans:text${this.nextOnlyFansText++}`);
    await snapshot();
    await this.quiesce();
    return normalState(this.state);
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
      const tied = liveNotes(this.state).find((note) => note.onlyFansNoteId === onlyFansNoteId);
      if (tied) this.onlyFans.set(onlyFansNoteId, tied.content);
    }
  }

  private async serve(request: SyncRequest, delivery: Delivery): Promise<SyncResponse> {
    const stored = this.state.lastMutationIdByClient.get(request.clientId) ?? 0;
    const response = await this.server.serve(request);
    const state = await this.server.state();
    this.state = state;
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
    const live = liveNotes(state);
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
    if (response.throttled) {
      // A read without changes may be throttled; a request with changes is always processed.
      this.tally.throttledReads += 1;
      assert.deepEqual(
        [request.mutations.length, request.onlyFansNotes],
        [0, undefined],
        'a throttled request carried changes',
      );
    }
    // A throttled read answers the client's last processed id too (read in the same statement).
    assert.equal(response.lastMutationId, last);
    assert.equal(this.state.lastMutationIdByClient.get(request.clientId) ?? 0, last);
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
  private async replay(original: Served, delivery: Delivery): Promise<void> {
    const { request } = original;
    const immediate = original.serial === this.serial;
    const before = this.state;
    const stored = before.lastMutationIdByClient.get(request.clientId) ?? 0;
    // A snapshot is OnlyFans' word on its notes, merged against the notes as they are when it
    // arrives, and it carries nothing that dates it. Once anything changed since its first merge,
    // merging it again is a new merge: an older snapshot arriving after a newer one takes OnlyFans'
    // older text back, and imports again as new notes those the newer one dropped (until the next
    // snapshot). Nothing accepted is lost either way (property c).
    const noOp =
      immediate || (request.onlyFansNotes === undefined && request.mutations.every(({ id }) => id <= stored));
    const response = await this.serve(request, delivery);
    if (!noOp) return;
    this.tally[immediate ? 'replays' : 'lateReplays'] += 1;
    assert.deepEqual(this.state, before, 'server state after a replay');
    assert.ok(
      response.results.every(({ status }) => status === 'duplicate'),
      'a replay answers duplicates',
    );
    assert.equal(response.lastMutationId, stored);
    if (immediate) {
      // A read may be throttled one time and not the other: then only `throttled` differs.
      const strip = ({ results, throttled: _throttled, ...rest }: SyncResponse) => ({
        ...rest,
        ids: results.map(({ id }) => id),
      });
      assert.deepEqual(strip(response), strip(original.response), 'an immediate replay answers the same');
    }
  }

  /** (d) The delta from an earlier cursor, put on the live set at that cursor, is the live set now. */
  private async audit(entry: { cursor: string; live: SyncedNote[] }): Promise<void> {
    this.tally.audits += 1;
    const page = await this.server.read(entry.cursor);
    const since = decodeCursor(entry.cursor)!;
    assert.equal(page.reset, false, `reset for cursor ${entry.cursor}`);
    assert.equal(page.cursor, encodeCursor(this.state.version));
    assert.ok(
      page.notes.every((note) => note.version > since),
      `a note older than ${entry.cursor} in its delta`,
    );
    const rebuilt = new Map(entry.live.map((note) => [note.id, note]));
    for (const id of page.deletedNoteIds) rebuilt.delete(id);
    for (const note of page.notes) rebuilt.set(note.id, note);
    assert.deepEqual(sortById(rebuilt.values()), liveNotes(this.state), `delta from ${entry.cursor}`);
  }
}
