// The sync protocol's rules (DESIGN.md, "The sync protocol") checked on generated scripts
// (protocol-scripts.ts): 2 to 4 clients editing one fan's notes offline and online, with dropped
// responses, replayed and reordered requests, pipelined requests that arrive before the one they
// follow (gaps), skewed client clocks and OnlyFans snapshots, run against test/simulation.ts
// (sync-core's applyChanges served like the API serves it). protocol-run.ts checks properties (a)-(e)
// and (g) on every request of every script against the reference model (reference-model.ts); this
// file adds (f) and (h), which compare two runs of a script:
//   (f) clocks: the same script run with other client clock offsets sends the same requests, gets the
//       same responses and ends in the same server state;
//   (h) order: after any script, a CRM edit of an OnlyFans note and OnlyFans dropping that note end in
//       the same state, up to ids and versions, whichever reaches the server first (issue #19; its
//       own test, which runs each script twice).
// The same scripts run through the real API's procedures on PGlite or PostgreSQL in
// apps/api/test/protocol-scripts.test.ts.
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { expect, test } from 'vitest';
import type { OnlyFansNoteText } from '../src/index.ts';
import { fcParams } from './fast-check.ts';
import { runScript, sortById } from './protocol-run.ts';
import { offsetsArb, scriptArb } from './protocol-scripts.ts';
import { SimClient, SimServer, SimSyncServer, type SyncRequest } from './simulation.ts';

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

// At least 1,000 scripts in every run of the suite (a few seconds); FC_RUNS raises it for a soak, and
// FC_SEED replays one. The seed is chosen here, not by fast-check, so that it is printed up front.
const numRuns = Math.max(1000, fcParams.numRuns);
const seed = fcParams.seed ?? Math.floor(Math.random() * 2 ** 31);

test(
  'generated scripts of several clients keep every rule of the sync protocol',
  { timeout: numRuns * 120 },
  async () => {
    process.stdout.write(`sync protocol property: ${numRuns} runs, FC_SEED=${seed}\n`);
    let longest = 0;
    let requests = 0;
    const seen: Record<string, number> = {};
    try {
      await fc.assert(
        fc.asyncProperty(scriptArb, offsetsArb, offsetsArb, async (script, offsets, otherOffsets) => {
          longest = Math.max(longest, script.steps.length);
          const run = await runScript(new SimSyncServer(), script, offsets);
          requests += run.wire.length;
          const { untied, onlyFansCopies, revivedAfterDrop } = run.model;
          const counts = { ...run.tally, untied, onlyFansCopies, revivedAfterDrop };
          for (const [key, count] of Object.entries(counts)) {
            seen[key] = (seen[key] ?? 0) + count;
          }
          // (f) Client clocks never change outcomes.
          const skewed = await runScript(new SimSyncServer(), script, otherOffsets);
          assert.deepEqual(skewed.wire, run.wire, 'requests and responses with other client clocks');
          assert.deepEqual(skewed.state, run.state, 'server state with other client clocks');
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
  // A guard against a hang, not a speed check: each run plays its script twice, about 50 ms on a slow
  // 2-core host while the other packages' suites run beside it (CI timed out at 50 ms a run).
  { timeout: fcParams.numRuns * 200 },
  async () => {
    const noSkew = [0, 0, 0, 0];
    let compared = 0;
    await fc.assert(
      fc.asyncProperty(scriptArb, fc.nat(), fc.nat(), async (script, editorPick, notePick) => {
        const ends = [];
        for (const order of ['edit first', 'drop first'] as const) {
          const run = await runScript(new SimSyncServer(), script, noSkew);
          ends.push(await run.editAndDrop(order, editorPick, notePick));
        }
        const [editFirst, dropFirst] = ends;
        if (editFirst !== null) compared += 1;
        assert.deepEqual(dropFirst, editFirst, 'the end state with the drop first, and with the edit first');
      }),
      fcParams,
    );
    // Nearly every script leaves an OnlyFans note to edit (editAndDrop makes sure OnlyFans has one).
    expect(compared).toBeGreaterThan(fcParams.numRuns / 2);
  },
);
