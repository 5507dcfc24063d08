import fc from 'fast-check';
import { expect, test } from 'vitest';
import { fcParams } from '../test/fast-check.ts';
import { sequenceMutations } from './sequence.ts';

const ids = (...list: number[]) => list.map((id) => ({ id }));

test.each<{
  name: string;
  last: number;
  sent: number[];
  apply: number[];
  duplicate: number[];
  gap: { expected: number; got: number } | null;
  lastAfter: number;
}>([
  {
    name: 'a new client’s first mutations are applied',
    last: 0,
    sent: [1, 2, 3],
    apply: [1, 2, 3],
    duplicate: [],
    gap: null,
    lastAfter: 3,
  },
  {
    name: 'a request with no mutations changes nothing',
    last: 4,
    sent: [],
    apply: [],
    duplicate: [],
    gap: null,
    lastAfter: 4,
  },
  {
    name: 'a resent batch is only acknowledged',
    last: 3,
    sent: [1, 2, 3],
    apply: [],
    duplicate: [1, 2, 3],
    gap: null,
    lastAfter: 3,
  },
  {
    name: 'a batch partly processed before resumes after the last processed id',
    last: 2,
    sent: [1, 2, 3, 4],
    apply: [3, 4],
    duplicate: [1, 2],
    gap: null,
    lastAfter: 4,
  },
  {
    name: 'a missing id stops processing at the gap',
    last: 0,
    sent: [1, 3, 4],
    apply: [1],
    duplicate: [],
    gap: { expected: 2, got: 3 },
    lastAfter: 1,
  },
  {
    name: 'nothing after a gap is processed, not even a resend',
    last: 5,
    sent: [7, 5, 6],
    apply: [],
    duplicate: [],
    gap: { expected: 6, got: 7 },
    lastAfter: 5,
  },
  {
    name: 'an id repeated inside one request is applied once',
    last: 0,
    sent: [1, 1, 2, 2],
    apply: [1, 2],
    duplicate: [1, 2],
    gap: null,
    lastAfter: 2,
  },
  {
    name: 'ids out of order are read as sent, not sorted',
    last: 0,
    sent: [2, 1],
    apply: [],
    duplicate: [],
    gap: { expected: 1, got: 2 },
    lastAfter: 0,
  },
])('$name', ({ last, sent, apply, duplicate, gap, lastAfter }) => {
  const result = sequenceMutations(last, ids(...sent));
  expect(result.toProcess.filter((d) => d.action === 'apply').map((d) => d.mutation.id)).toEqual(apply);
  expect(result.toProcess.filter((d) => d.action === 'duplicate').map((d) => d.mutation.id)).toEqual(
    duplicate,
  );
  expect(result.stoppedAtGap).toEqual(gap);
  expect(result.lastMutationId).toBe(lastAfter);
});

test('each mutation keeps its own payload and its place in the request', () => {
  const sent = [
    { id: 1, noteId: 'note_a' },
    { id: 2, noteId: 'note_b' },
    { id: 1, noteId: 'note_a' },
  ];
  expect(sequenceMutations(0, sent).toProcess).toEqual([
    { mutation: sent[0], action: 'apply' },
    { mutation: sent[1], action: 'apply' },
    { mutation: sent[2], action: 'duplicate' },
  ]);
});

// Mostly ascending batches with resends, repeats and skips, as a client that lost some answers sends.
const batchArb = fc
  .tuple(
    fc.integer({ min: 1, max: 10 }),
    fc.array(fc.constantFrom(1, 1, 1, 1, 0, -1, -3, 2), { maxLength: 20 }),
  )
  .map(([first, steps]) => {
    const list = [first];
    for (const step of steps) list.push(Math.max(1, list.at(-1)! + step));
    return ids(...list);
  });
const lastArb = fc.integer({ min: 0, max: 8 });

test('applied ids are exactly the next ones after the last processed, in order', () => {
  fc.assert(
    fc.property(lastArb, batchArb, (last, batch) => {
      const result = sequenceMutations(last, batch);
      const applied = result.toProcess.filter((d) => d.action === 'apply').map((d) => d.mutation.id);
      expect(applied).toEqual(applied.map((_, i) => last + 1 + i));
      expect(result.lastMutationId).toBe(last + applied.length);
      // The processed part is a prefix of the request, cut only at a gap.
      expect(result.toProcess.map((d) => d.mutation)).toEqual(batch.slice(0, result.toProcess.length));
      if (result.stoppedAtGap === null) expect(result.toProcess).toHaveLength(batch.length);
      else
        expect(result.stoppedAtGap).toEqual({
          expected: result.lastMutationId + 1,
          got: batch[result.toProcess.length]!.id,
        });
    }),
    fcParams,
  );
});

test('replaying a request after it was processed yields only duplicates', () => {
  fc.assert(
    fc.property(lastArb, batchArb, (last, batch) => {
      const first = sequenceMutations(last, batch);
      const replay = sequenceMutations(first.lastMutationId, batch);
      expect(replay.toProcess.every((d) => d.action === 'duplicate')).toBe(true);
      expect(replay.lastMutationId).toBe(first.lastMutationId);
      expect(replay.stoppedAtGap).toEqual(first.stoppedAtGap);
    }),
    fcParams,
  );
});

test('a client that resends its whole queue until acknowledged gets every mutation applied once, in order', () => {
  // Reference model: a client queue 1..n; each round the server takes a prefix of what was sent (a
  // lost or cut request), and the client resends from its oldest unacknowledged id.
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 30 }), fc.array(fc.nat(), { maxLength: 40 }), (n, cuts) => {
      const queue = ids(...Array.from({ length: n }, (_, i) => i + 1));
      let serverLast = 0;
      let acknowledged = 0;
      const appliedLog: number[] = [];
      // `null` is the last round, once the network is back: the whole resend arrives.
      for (const cut of [...cuts, null]) {
        const sent = queue.slice(Math.max(0, acknowledged - 2)); // resends a little more than needed
        const received = cut === null ? sent : sent.slice(0, cut % (sent.length + 1));
        const result = sequenceMutations(serverLast, received);
        expect(result.stoppedAtGap).toBeNull();
        for (const d of result.toProcess) if (d.action === 'apply') appliedLog.push(d.mutation.id);
        serverLast = result.lastMutationId;
        if (cut === null || cut % 2 === 0) acknowledged = serverLast; // some answers are lost on the way back
      }
      expect(appliedLog).toEqual(queue.map((m) => m.id));
    }),
    fcParams,
  );
});
