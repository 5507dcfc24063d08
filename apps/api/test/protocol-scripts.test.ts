import fc from 'fast-check';
import assert from 'node:assert/strict';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { fcParamsFor } from '../../../packages/sync-core/test/fast-check.ts';
import { runScript } from '../../../packages/sync-core/test/protocol-run.ts';
import { offsetsArb, scriptArb } from '../../../packages/sync-core/test/protocol-scripts.ts';
import {
  SimServer,
  type NotesPage,
  type ServerState,
  type SyncRequest,
  type SyncResponse,
  type SyncServer,
} from '../../../packages/sync-core/test/simulation.ts';
import type * as FanTransaction from '../src/services/fan-transaction.ts';
import { ApiSyncServer, ScriptIds } from './api-sync-server.ts';
import { createTestApp, START, type TestApp } from './harness.ts';

// The sync protocol's generated scripts (packages/sync-core/test/protocol-scripts.ts, the same
// generator, clients and checks as sync-core's model-based test) run through the real procedures:
// every request is `notes.sync` by createCaller as the client's user, on PGlite in `pnpm test` and on
// the PostgreSQL of DATABASE_URL, and every invariant is checked against the database's rows
// (api-sync-server.ts). Properties (a)-(e) and (g) of protocol-run.ts after every request, and here:
//   (h) on the database: a CRM edit of an OnlyFans note and OnlyFans dropping the note end the same
//       in either order (its own test, with fewer scripts: each runs twice);
//   (i) the database agrees with sync-core: served in lockstep with the simulation (simulation.ts,
//       applyChanges on a Map), every answer and read is the simulation's, and after every request the
//       fan's rows are the simulation's state (every field of every note, tombstones included, the
//       fan's version, each client's last mutation id). Only a throttled read may differ: the API
//       answers it without the client's row (lastMutationId null);
//   (j) the fan's live_note_count is the count of its live rows; each note's timestamps and authors are
//       those of the request that made it and of the write that gave it its version; what an answer
//       shows of a note is its row (api-sync-server.ts).
// (f), client clocks, is left to sync-core's test: nothing a client sends carries its clock, so the
// API receives the very requests the simulation does.
//
// 300 scripts without FC_RUNS (about an eighth to a fifth of a second each on PGlite, most of it in
// the database: this file takes about a minute), FC_RUNS for more, and a fifteenth as many, at
// least 10, for (h). FC_SEED replays a run, and names the same scripts as in sync-core's test (the
// same arbitraries, drawn in the same order).

/**
 * The API makes its note ids at random (`note_<uuid>`). Here they are numbered per script, as the
 * simulation numbers its own (`note_s1`, `note_s2`...; ScriptIds makes them uuids): so the API's
 * notes and the simulation's have the same names, a failing seed replays the same notes, and the
 * scripts pick the same note by its place in the sorted ids whichever server they run on.
 */
const serverNoteIds = vi.hoisted(() => ({
  next: (): string => {
    throw new Error('a note id made outside a script');
  },
}));
vi.mock('../src/services/fan-transaction.ts', async (importOriginal) => ({
  ...(await importOriginal<typeof FanTransaction>()),
  newNoteId: () => serverNoteIds.next(),
}));

/** (i) The API, checked request by request against the simulation served the same requests. */
class Lockstep implements SyncServer {
  readonly sim = new SimServer();

  constructor(readonly api: ApiSyncServer) {}

  async serve(request: SyncRequest): Promise<SyncResponse> {
    const expected = this.sim.serve(structuredClone(request));
    const actual = await this.api.serve(request);
    const comparable = ({ throttled: _throttled, lastMutationId, ...rest }: SyncResponse) =>
      actual.throttled ? rest : { ...rest, lastMutationId };
    assert.deepEqual(comparable(actual), comparable(expected), "the API's answer and the simulation's");
    return actual;
  }

  async read(cursor?: string): Promise<NotesPage> {
    const actual = await this.api.read(cursor);
    assert.deepEqual(actual, this.sim.read(cursor), `the API's read from ${cursor} and the simulation's`);
    return actual;
  }

  async state(): Promise<ServerState> {
    const actual = await this.api.state();
    const { bookkeeping: _bookkeeping, ...model } = actual;
    assert.deepEqual(model, this.sim.state, "the fan's rows and the simulation's state");
    return actual;
  }
}

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app?.close());

let scripts = 0;
const totals = { requests: 0, reads: 0 };

/** A fresh account and fan for one script, its own ids, and the clock back at START. */
async function freshFan(): Promise<Lockstep> {
  scripts += 1;
  const ids = new ScriptIds(scripts.toString(16).padStart(8, '0'));
  let made = 0;
  serverNoteIds.next = () => ids.serverNote(++made);
  app.clock.set(START);
  return new Lockstep(await ApiSyncServer.create(app, ids));
}

function count(server: Lockstep) {
  totals.requests += server.api.requests;
  totals.reads += server.api.reads;
}

const params = fcParamsFor(300);
const seed = params.seed ?? Math.floor(Math.random() * 2 ** 31);
const database = () => (app.database.url ? 'PostgreSQL' : 'PGlite');

test(
  'generated scripts served by notes.sync keep every rule of the sync protocol, and the rows are the simulation’s',
  { timeout: 60_000 + params.numRuns * 1_000 },
  async () => {
    const started = performance.now();
    const seen: Record<string, number> = {};
    try {
      await fc.assert(
        // The second offsets are (f)'s in sync-core's test: drawn here too, so a seed names the same scripts.
        fc.asyncProperty(scriptArb, offsetsArb, offsetsArb, async (script, offsets, _otherOffsets) => {
          const server = await freshFan();
          try {
            const run = await runScript(server, script, offsets);
            for (const [key, value] of Object.entries(run.tally)) seen[key] = (seen[key] ?? 0) + value;
          } finally {
            count(server);
          }
        }),
        { ...params, seed },
      );
    } catch (error) {
      throw new Error(`replay with FC_SEED=${seed} (runs: ${params.numRuns})\n${String(error)}`, {
        cause: error,
      });
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    process.stdout.write(
      `protocol scripts on ${database()}: ${params.numRuns} scripts (FC_SEED=${seed}) in ${seconds} s, ` +
        `${totals.requests} requests and ${totals.reads} reads through notes.sync, ${JSON.stringify(seen)}\n`,
    );
    // Reads without changes come both ways: full syncs, and throttled reads of the stored notes (every
    // script has some: its last round of syncs comes within the throttle interval of the one before).
    expect(seen.throttledReads).toBeGreaterThan(0);
  },
);

test(
  'on the database too, a CRM edit of an OnlyFans note and OnlyFans dropping the note end the same in either order',
  { timeout: 60_000 + params.numRuns * 1_000 },
  async () => {
    const noSkew = [0, 0, 0, 0];
    const numRuns = Math.max(10, Math.round(params.numRuns / 15));
    let compared = 0;
    await fc.assert(
      fc.asyncProperty(scriptArb, fc.nat(), fc.nat(), async (script, editorPick, notePick) => {
        const ends = [];
        for (const order of ['edit first', 'drop first'] as const) {
          const server = await freshFan();
          try {
            const run = await runScript(server, script, noSkew);
            ends.push(await run.editAndDrop(order, editorPick, notePick));
          } finally {
            count(server);
          }
        }
        const [editFirst, dropFirst] = ends;
        if (editFirst !== null) compared += 1;
        assert.deepEqual(dropFirst, editFirst, 'the end state with the drop first, and with the edit first');
      }),
      { ...params, seed, numRuns },
    );
    expect(compared).toBeGreaterThan(numRuns / 2);
  },
);
