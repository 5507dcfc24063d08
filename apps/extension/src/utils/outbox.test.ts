import { beforeEach, describe, expect, test } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { FAN, USER, noteId } from '../test/helpers.ts';
import { validateMutation } from './edits.ts';
import { KEYS, type OutboxEntry } from './model.ts';
import { MAX_BATCH_BYTES, Outbox, nextBatch } from './outbox.ts';
import { store } from './store.ts';

const OTHER_USER = '22222222-2222-4222-8222-222222222222';
let ids = 0;
const outbox = () => new Outbox(store, () => `00000000-0000-4000-8000-00000000000${++ids}`);
const upsert = (n: number, content = `note ${n}`) => ({
  op: 'upsert' as const,
  noteId: noteId(n),
  baseVersion: 0,
  note: { content },
});

beforeEach(() => {
  fakeBrowser.reset();
  ids = 0;
});

describe('Outbox', () => {
  test('a mutation is in storage, with the advanced counter, when enqueue resolves', async () => {
    await outbox().enqueue(USER, FAN, upsert(1), 1000);
    const stored = await fakeBrowser.storage.local.get([KEYS.outbox, KEYS.client]);
    expect(stored[KEYS.client]).toEqual({
      userId: USER,
      clientId: '00000000-0000-4000-8000-000000000001',
      nextMutationId: 2,
    });
    expect(stored[KEYS.outbox]).toEqual([
      { fanId: FAN, enqueuedAt: 1000, mutation: { id: 1, ...upsert(1) } },
    ]);
  });

  test('ids count 1, 2, 3 across fans, survive a restarted worker and are never reused', async () => {
    const first = outbox();
    await first.enqueue(USER, FAN, upsert(1), 0);
    await first.enqueue(USER, '200', upsert(2), 0);
    await first.acknowledge(2);
    // A new worker: a new Outbox object over the same storage.
    const second = outbox();
    const entry = await second.enqueue(USER, FAN, upsert(3), 0);
    expect(entry.mutation.id).toBe(3);
    expect((await second.client(USER)).clientId).toBe('00000000-0000-4000-8000-000000000001');
  });

  test('concurrent enqueues get distinct ids and none is lost', async () => {
    const box = outbox();
    await Promise.all([1, 2, 3, 4, 5].map((n) => box.enqueue(USER, FAN, upsert(n), n)));
    expect((await box.entries()).map((e) => e.mutation.id)).toEqual([1, 2, 3, 4, 5]);
  });

  test('acknowledge drops exactly the ids at or below lastMutationId', async () => {
    const box = outbox();
    for (const n of [1, 2, 3]) await box.enqueue(USER, FAN, upsert(n), 0);
    expect((await box.acknowledge(2)).map((e) => e.mutation.id)).toEqual([3]);
    expect((await box.acknowledge(2)).map((e) => e.mutation.id)).toEqual([3]);
  });

  test('an invalid mutation is refused before it is stored, so it can never block the outbox', async () => {
    const box = outbox();
    await expect(box.enqueue(USER, FAN, upsert(1, '   '), 0, validateMutation)).rejects.toThrow(
      'content must not be empty',
    );
    expect(await box.entries()).toEqual([]);
    const entry = await box.enqueue(
      USER,
      FAN,
      { ...upsert(2, '  trimmed '), note: { content: '  trimmed ', color: '#aabbcc' } },
      0,
      validateMutation,
    );
    expect(entry.mutation).toMatchObject({ id: 1, note: { content: 'trimmed', color: '#AABBCC' } });
  });

  test("another user's sign-in parks the previous client and outbox; they come back with that user", async () => {
    const box = outbox();
    await box.enqueue(USER, FAN, upsert(1), 0);
    await box.enqueue(OTHER_USER, FAN, upsert(2), 0);
    expect((await box.entries()).map((e) => [e.mutation.id, e.mutation.noteId])).toEqual([[1, noteId(2)]]);
    const back = await box.client(USER);
    expect(back).toMatchObject({ userId: USER, nextMutationId: 2 });
    expect((await box.entries()).map((e) => e.mutation.noteId)).toEqual([noteId(1)]);
  });
});

describe('unsaved edits', () => {
  const refused = (id: number) => ({ id, kind: 'refused' as const, code: 'permission_denied', reason: 'no' });

  test('settle moves what the server would not save to the unsaved list in the same write as it leaves', async () => {
    const box = outbox();
    for (const n of [1, 2, 3]) await box.enqueue(USER, FAN, upsert(n), n);
    const writes: string[][] = [];
    // One write each (the store records each key's format version, `<key>$`, in the same write).
    fakeBrowser.storage.local.onChanged.addListener((changes) =>
      writes.push(
        Object.keys(changes)
          .filter((key) => !key.endsWith('$'))
          .sort(),
      ),
    );
    expect((await box.settle(2, [refused(2), refused(3)], 99)).map((e) => e.mutation.id)).toEqual([3]);
    expect(writes).toEqual([[KEYS.outbox, KEYS.unsaved]]);
    // Id 3 is above lastMutationId: not processed, so it stays to be sent.
    expect(await box.unsaved()).toEqual([
      {
        fanId: FAN,
        enqueuedAt: 2,
        mutation: { id: 2, ...upsert(2) },
        kind: 'refused',
        code: 'permission_denied',
        reason: 'no',
        at: 99,
      },
    ]);
  });

  test('requeue puts refused entries back at the head, renumbered from lastMutationId + 1 with all after them', async () => {
    const box = outbox();
    await box.enqueue(USER, 'a', upsert(1), 0);
    await box.enqueue(USER, 'a', upsert(2), 0);
    await box.enqueue(USER, 'b', upsert(3), 0);
    await box.enqueue(USER, 'a', upsert(4), 0);
    // The server refused 1 and 2 (recorded: its last is 2); the fan is registered now.
    const kept = await box.requeue(2, [1, 2]);
    expect(kept.map((e) => [e.fanId, e.mutation.id, e.mutation.noteId])).toEqual([
      ['a', 3, noteId(1)],
      ['a', 4, noteId(2)],
      ['b', 5, noteId(3)],
      ['a', 6, noteId(4)],
    ]);
    expect(await box.client(USER)).toMatchObject({ nextMutationId: 7 });
    expect((await box.enqueue(USER, 'b', upsert(5), 0)).mutation.id).toBe(7);
  });

  test('try again sends the same change with a new id at the tail; dismiss forgets it', async () => {
    const box = outbox();
    for (const n of [1, 2, 3]) await box.enqueue(USER, FAN, upsert(n), 0);
    await box.settle(2, [refused(1), refused(2)], 5);
    const entry = await box.retry(USER, 1, 10, validateMutation);
    expect(entry).toEqual({ fanId: FAN, enqueuedAt: 10, mutation: { id: 4, ...upsert(1) } });
    expect((await box.entries()).map((e) => e.mutation.id)).toEqual([3, 4]);
    expect((await box.unsaved()).map((u) => u.mutation.id)).toEqual([2]);
    expect(await box.retry(USER, 1, 11)).toBeNull();
    await box.dismiss(2);
    expect(await box.unsaved()).toEqual([]);
  });

  test("another user's sign-in parks the unsaved list with the outbox", async () => {
    const box = outbox();
    await box.enqueue(USER, FAN, upsert(1), 0);
    await box.settle(1, [refused(1)], 0);
    await box.client(OTHER_USER);
    expect(await box.unsaved()).toEqual([]);
    await box.client(USER);
    expect((await box.unsaved()).map((u) => u.mutation.id)).toEqual([1]);
  });
});

describe('nextBatch', () => {
  const entry = (id: number, fanId: string): OutboxEntry => ({
    fanId,
    enqueuedAt: 0,
    mutation: { id, ...upsert(id) },
  });

  test("takes the head fan's run, stopping at another fan", () => {
    expect(nextBatch([entry(1, 'a'), entry(2, 'a'), entry(3, 'b'), entry(4, 'a')])).toEqual({
      fanId: 'a',
      mutations: [entry(1, 'a').mutation, entry(2, 'a').mutation],
    });
    expect(nextBatch([])).toBeNull();
  });

  test('at most 100 mutations per request', () => {
    const many = Array.from({ length: 150 }, (_, i) => entry(i + 1, 'a'));
    expect(nextBatch(many)!.mutations).toHaveLength(100);
  });

  test('at most MAX_BATCH_BYTES of mutations per request, counted in UTF-8 (always the head)', () => {
    // 5,000 two-byte characters: about 10 kB a mutation.
    const long = (id: number): OutboxEntry => ({
      fanId: 'a',
      enqueuedAt: 0,
      mutation: { id, ...upsert(id, 'é'.repeat(5_000)) },
    });
    const batch = nextBatch(Array.from({ length: 40 }, (_, i) => long(i + 1)))!.mutations;
    expect(batch).toHaveLength(12);
    const bytes = new TextEncoder().encode(JSON.stringify(batch)).length;
    expect(bytes).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    expect(nextBatch([long(1)])!.mutations).toHaveLength(1);
  });
});
