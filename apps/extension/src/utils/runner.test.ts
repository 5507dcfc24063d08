import type { Account, SyncNotesData, SyncNotesInput, UpsertFanInput } from '@fannotes/contract';
import { defaultThrottlePolicy } from '@fannotes/sync-core';
import { beforeEach, describe, expect, test, vi } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import type { SyncApi } from './api-client.ts';
import {
  KEYS,
  emptyView,
  isViewKey,
  viewKey,
  type FanView,
  type OutboxEntry,
  type RetryState,
  type SyncStatus,
} from './model.ts';
import { Outbox } from './outbox.ts';
import { SyncRunner, type Session } from './runner.ts';
import { store } from './store.ts';
import { updateView } from './views.ts';
import { ACCOUNT, FAN, USER, apiError, note, noteId, refusal, syncData } from '../test/helpers.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');

/** A runner on WXT's fake browser storage, a fake clock and a scripted API. */
function setup(options: { session?: Session } = {}) {
  let now = T0;
  const calls: SyncNotesInput[] = [];
  const answers: ((input: SyncNotesInput) => SyncNotesData)[] = [];
  const sync = vi.fn(async (input: SyncNotesInput) => {
    calls.push(structuredClone(input));
    await Promise.resolve(); // an answer arrives later, as over the network
    const answer = answers.shift();
    if (!answer) throw new Error('unexpected sync call');
    return answer(input);
  });
  const listAccounts = vi.fn((): Promise<Account[]> => Promise.resolve([]));
  const registerAccount = vi.fn((input: { onlyFansUserId: string; username: string }) =>
    Promise.resolve({
      id: ACCOUNT,
      ...input,
      role: 'owner' as const,
      createdAt: new Date(now).toISOString(),
    }),
  );
  const upsertFan = vi.fn((input: UpsertFanInput) =>
    Promise.resolve({ ...input, username: null, name: null, createdAt: '', updatedAt: '' }),
  );
  const api: SyncApi = { sync, listAccounts, registerAccount, upsertFan };
  const scheduled: number[] = [];
  let clientIds = 0;
  const outbox = new Outbox(store, () => `00000000-0000-4000-8000-00000000000${++clientIds}`);
  const session = options.session ?? { ok: true as const, token: 'token', userId: USER };
  const runner = new SyncRunner({
    store,
    outbox,
    session: () => Promise.resolve(session),
    api: () => Promise.resolve(api),
    viewKeys: async () => Object.keys(await fakeBrowser.storage.local.get(null)).filter(isViewKey),
    schedule: (at) => scheduled.push(at),
    now: () => now,
    random: () => 0.5,
    policy: defaultThrottlePolicy,
  });
  return {
    runner,
    outbox,
    api: { listAccounts, registerAccount, upsertFan },
    calls,
    scheduled,
    /** Queue the next answers of `notes.sync`: data, or a thrown error. */
    answer: (...next: (Partial<SyncNotesData> | Error | ((input: SyncNotesInput) => SyncNotesData))[]) => {
      for (const item of next) {
        answers.push((input) => {
          if (item instanceof Error) throw item;
          return typeof item === 'function' ? item(input) : syncData(item);
        });
      }
    },
    advance: (ms: number) => (now += ms),
    view: async () => (await store.get<FanView>(viewKey(FAN)))!,
    status: async () => (await store.get<SyncStatus>(KEYS.status))!,
    retry: async () => store.get<RetryState>(KEYS.retry),
    enqueueUpsert: (id: string, content: string, fanId = FAN) =>
      outbox.enqueue(USER, fanId, { op: 'upsert', noteId: id, baseVersion: 0, note: { content } }, now),
  };
}

beforeEach(() => {
  fakeBrowser.reset();
});

describe('pulls', () => {
  test('the first open of a fan syncs it and caches the notes', async () => {
    const t = setup();
    t.answer({ notes: [note(noteId(1))], cursor: 'v1.3' });
    await t.runner.request(FAN);
    expect(t.calls).toEqual([{ fanId: FAN, force: false, clientId: '00000000-0000-4000-8000-000000000001' }]);
    const view = await t.view();
    expect(view.notes.map((n) => n.id)).toEqual([noteId(1)]);
    expect(view.cursor).toBe('v1.3');
    expect(view.accountId).toBe(ACCOUNT);
    expect(await t.status()).toEqual({ state: 'idle', message: null, retryAt: null });
  });

  test("reopening within the throttle interval still reads from the API (teammates' notes), from the cursor", async () => {
    const t = setup();
    t.answer({ notes: [note(noteId(1)), note(noteId(2))], cursor: 'v1.3' });
    await t.runner.request(FAN);
    t.advance(defaultThrottlePolicy.minIntervalMs - 1);
    // A teammate added a note meanwhile: the API's throttled read carries it.
    t.answer({
      synchronized: false,
      throttled: true,
      reset: false,
      notes: [note(noteId(3), { version: 4 })],
      deletedNoteIds: [noteId(1)],
      cursor: 'v1.4',
    });
    await t.runner.request(FAN);
    expect(t.calls).toHaveLength(2);
    expect(t.calls[1]).toMatchObject({ cursor: 'v1.3', force: false });
    expect(t.calls[1]!.onlyFansNotes).toBeUndefined();
    expect((await t.view()).notes.map((n) => n.id).sort()).toEqual([noteId(2), noteId(3)]);
  });

  test('a forced refresh inside the force floor waits for it instead of calling', async () => {
    const t = setup();
    t.answer({}, {});
    await t.runner.request(FAN, true);
    t.advance(1_000);
    await t.runner.request(FAN, true);
    expect(t.calls).toHaveLength(1);
    expect(t.scheduled).toEqual([T0 + defaultThrottlePolicy.forceFloorMs]);
    t.advance(defaultThrottlePolicy.forceFloorMs);
    await t.runner.pump();
    expect(t.calls.map((call) => call.force)).toEqual([true, true]);
  });

  test("the fan's OnlyFans note is sent once, then only when it changes; a cleared one as []", async () => {
    const t = setup();
    await store.set({ [viewKey(FAN)]: { ...emptyView(FAN), notice: '  VIP, birthday 14 May ' } });
    t.answer({}, {}, {});
    await t.runner.request(FAN);
    expect(t.calls[0]!.onlyFansNotes).toEqual([{ onlyFansNoteId: FAN, content: 'VIP, birthday 14 May' }]);

    t.advance(defaultThrottlePolicy.minIntervalMs);
    await t.runner.request(FAN);
    expect(t.calls[1]!.onlyFansNotes).toBeUndefined();

    await store.set({ [viewKey(FAN)]: { ...(await t.view()), notice: '' } });
    await t.runner.request(FAN);
    // A change of the snapshot is a change: sent at once, whatever the throttle says.
    expect(t.calls[2]!.onlyFansNotes).toEqual([]);
  });

  test('what the panel learns about the fan during a sync survives the sync (regression: notice lost)', async () => {
    const t = setup();
    t.answer(() => {
      // The panel reports OnlyFans' note while this request is in flight.
      void updateView(store, FAN, (view) => ({ ...view, notice: 'Learnt meanwhile' }));
      return syncData({ notes: [note(noteId(1))] });
    }, {});
    await t.runner.request(FAN);
    expect((await t.view()).notice).toBe('Learnt meanwhile');
    await t.runner.request(FAN);
    expect(t.calls[1]!.onlyFansNotes).toEqual([{ onlyFansNoteId: FAN, content: 'Learnt meanwhile' }]);
  });

  test('a delta cut at the page limit is read on from its cursor in the same run', async () => {
    const t = setup();
    t.answer(
      { notes: [note(noteId(1))], cursor: 'v1.1', more: true },
      { reset: false, notes: [note(noteId(2))], cursor: 'v1.2' },
    );
    await t.runner.request(FAN);
    expect(t.calls[1]).toEqual({ fanId: FAN, cursor: 'v1.1', accountId: ACCOUNT });
    expect((await t.view()).notes).toHaveLength(2);
  });
});

describe('the outbox', () => {
  test('pending mutations go with the next sync and leave once lastMutationId covers them', async () => {
    const t = setup();
    await t.enqueueUpsert(noteId(1), 'first');
    await t.enqueueUpsert(noteId(2), 'second');
    t.answer((input) =>
      syncData({
        notes: input.mutations!.map((m) =>
          note(m.noteId, { content: m.op === 'upsert' ? (m.note.content ?? '') : '' }),
        ),
        lastMutationId: 2,
        results: input.mutations!.map((m) => ({ id: m.id, noteId: m.noteId, status: 'applied' as const })),
      }),
    );
    await t.runner.pump(true);
    expect(t.calls[0]!.mutations!.map((m) => m.id)).toEqual([1, 2]);
    expect(await t.outbox.entries()).toEqual([]);
    expect((await t.view()).notes.map((n) => n.content).sort()).toEqual(['first', 'second']);
  });

  test('drains from the head, one fan at a time, so mutation ids reach the server in order', async () => {
    const t = setup();
    await t.enqueueUpsert(noteId(1), 'a1');
    await t.enqueueUpsert(noteId(2), 'b1', '200');
    await t.enqueueUpsert(noteId(3), 'a2');
    const ack = (input: SyncNotesInput) => syncData({ lastMutationId: input.mutations!.at(-1)!.id });
    t.answer(ack, ack, ack);
    await t.runner.pump(true);
    expect(t.calls.map((c) => [c.fanId, c.mutations!.map((m) => m.id)])).toEqual([
      [FAN, [1]],
      ['200', [2]],
      [FAN, [3]],
    ]);
  });

  test('a fan opened while others have pending changes is pulled without sending them out of order', async () => {
    const t = setup();
    await t.enqueueUpsert(noteId(1), 'about another fan', '200');
    t.answer({}, (input) => syncData({ lastMutationId: input.mutations!.at(-1)!.id }));
    await t.runner.request(FAN);
    expect(t.calls.map((c) => [c.fanId, c.mutations?.length ?? 0])).toEqual([
      [FAN, 0],
      ['200', 1],
    ]);
  });

  test('a lost response is resent with the same ids (the server answers duplicate)', async () => {
    const t = setup();
    await t.enqueueUpsert(noteId(1), 'once');
    t.answer(apiError(0, 'network'));
    await t.runner.pump(true);
    expect(await t.outbox.entries()).toHaveLength(1);
    t.answer({ lastMutationId: 1, results: [{ id: 1, noteId: noteId(1), status: 'duplicate' }] });
    await t.runner.pump(true);
    expect(t.calls.map((c) => c.mutations!.map((m) => m.id))).toEqual([[1], [1]]);
    expect(await t.outbox.entries()).toEqual([]);
  });

  test("a read's lastMutationId does not settle another fan's edits: their rejection reasons come with the resend", async () => {
    const t = setup();
    await t.enqueueUpsert(noteId(1), 'typed for the other fan', '2002');
    // While the push is on its way, the chatter opens this fan; the push's answer is then lost (the
    // server processed it: it rejected mutation 1). The read of this fan answers the client's last
    // processed id, 1.
    t.answer(
      () => {
        void t.runner.request(FAN);
        throw apiError(0, 'network');
      },
      { lastMutationId: 1 },
    );
    await t.runner.pump(true);
    expect(t.calls.slice(0, 2).map((call) => [call.fanId, call.mutations?.length ?? 0])).toEqual([
      ['2002', 1],
      [FAN, 0],
    ]);
    expect((await t.outbox.entries()).map((entry) => entry.mutation.id)).toEqual([1]);
    // The resend is answered as a duplicate with its reason: the text goes to Not saved, not lost.
    t.advance(60_000);
    t.answer({
      lastMutationId: 1,
      results: [{ id: 1, noteId: noteId(1), status: 'duplicate', reason: 'this fan has 2000 notes' }],
    });
    await t.runner.pump(true);
    expect(t.calls.at(-1)).toMatchObject({ fanId: '2002', mutations: [{ id: 1 }] });
    expect(await t.outbox.entries()).toEqual([]);
    expect((await t.outbox.unsaved()).map((entry) => [entry.mutation.id, entry.reason])).toEqual([
      [1, 'this fan has 2000 notes'],
    ]);
  });

  test('a server that does not take the head is not asked again in a loop', async () => {
    const t = setup();
    await t.enqueueUpsert(noteId(1), 'stuck');
    t.answer({ lastMutationId: 0 });
    await t.runner.pump(true);
    expect(t.calls).toHaveLength(1);
    expect(await t.status()).toMatchObject({ state: 'error' });
    expect(await t.outbox.entries()).toHaveLength(1);
  });

  test('a push answered in pages is acknowledged from its own answer; the pages are reads without clientId', async () => {
    const t = setup();
    await t.enqueueUpsert(noteId(1), 'pushed');
    // As the API answers: the push's page says what it processed, the reads after it say null.
    t.answer(
      { notes: [note(noteId(1))], cursor: 'v2.5.a', more: true, lastMutationId: 1 },
      { reset: false, notes: [note(noteId(2))], cursor: 'v1.5', lastMutationId: null },
    );
    await t.runner.pump(true);
    expect(t.calls[1]).toEqual({ fanId: FAN, cursor: 'v2.5.a', accountId: ACCOUNT });
    expect(await t.outbox.entries()).toEqual([]);
    expect(await t.status()).toEqual({ state: 'idle', message: null, retryAt: null });
  });

  test('a rejected mutation leaves the outbox into the unsaved list, whole, with the reason', async () => {
    const t = setup();
    await t.enqueueUpsert(noteId(1), 'x');
    await t.enqueueUpsert(noteId(2), 'y');
    t.answer({
      lastMutationId: 2,
      results: [
        { id: 1, noteId: noteId(1), status: 'rejected', reason: 'this fan has 2000 notes' },
        { id: 2, noteId: noteId(2), status: 'applied' },
      ],
    });
    await t.runner.pump(true);
    expect(await t.outbox.entries()).toEqual([]);
    expect(await t.outbox.unsaved()).toEqual([
      {
        fanId: FAN,
        enqueuedAt: T0,
        mutation: { id: 1, op: 'upsert', noteId: noteId(1), baseVersion: 0, note: { content: 'x' } },
        kind: 'rejected',
        code: null,
        reason: 'this fan has 2000 notes',
        at: T0,
      },
    ]);
    expect((await t.view()).rejected).toBeUndefined();
  });

  test('regression: a rejection whose answer was lost comes back as a duplicate with its reason, and is not dropped', async () => {
    const t = setup();
    await t.enqueueUpsert(noteId(1), 'x');
    t.answer({
      lastMutationId: 1,
      results: [{ id: 1, noteId: noteId(1), status: 'duplicate', reason: 'note was deleted' }],
    });
    await t.runner.pump(true);
    expect(await t.outbox.entries()).toEqual([]);
    expect((await t.outbox.unsaved()).map((entry) => [entry.mutation.id, entry.reason])).toEqual([
      [1, 'note was deleted'],
    ]);
  });
});

describe('refusals (issue 14: one refused fan never blocks the others)', () => {
  const mutationsOf = (calls: SyncNotesInput[]) =>
    calls.map((c) => [c.fanId, (c.mutations ?? []).map((m) => m.id)]);
  const ack = (input: SyncNotesInput) => syncData({ lastMutationId: input.mutations!.at(-1)!.id });

  test("a push refused for its fan leaves the outbox as not saved, and other fans' edits go on in the same run", async () => {
    const t = setup();
    await t.enqueueUpsert(noteId(1), 'to the refused fan', '300');
    await t.enqueueUpsert(noteId(2), 'to a fan still writable');
    await t.enqueueUpsert(noteId(3), 'to the refused fan again', '300');
    await t.enqueueUpsert(noteId(4), 'to another writable fan', '200');
    t.answer(refusal(403, 1, [1]), ack, refusal(403, 3, [3]), ack);
    await t.runner.pump(true);
    expect(mutationsOf(t.calls)).toEqual([
      ['300', [1]],
      [FAN, [2]],
      ['300', [3]],
      ['200', [4]],
    ]);
    expect(await t.outbox.entries()).toEqual([]);
    const unsaved = await t.outbox.unsaved();
    expect(unsaved.map((u) => [u.fanId, u.mutation.id, u.kind, u.code, u.reason])).toEqual([
      ['300', 1, 'refused', 'permission_denied', 'permission_denied happened'],
      ['300', 3, 'refused', 'permission_denied', 'permission_denied happened'],
    ]);
    expect(unsaved[0]!.mutation).toMatchObject({ note: { content: 'to the refused fan' } });
    // Another fan's refusal is no error of the whole extension: it is shown on that fan.
    expect(await t.status()).toEqual({ state: 'idle', message: null, retryAt: null });
  });

  test('ids of a refused request that the server processed earlier (a lost answer) are acknowledged, not shown', async () => {
    const t = setup();
    await t.enqueueUpsert(noteId(1), 'applied before the role changed, answer lost');
    await t.enqueueUpsert(noteId(2), 'refused now');
    t.answer(refusal(403, 2, [2]));
    await t.runner.pump(true);
    expect(await t.outbox.entries()).toEqual([]);
    expect((await t.outbox.unsaved()).map((u) => u.mutation.id)).toEqual([2]);
  });

  test('an ambiguous fan (400) and a fan gone (404, not registrable) are refusals like any other', async () => {
    const t = setup();
    await t.enqueueUpsert(noteId(1), 'fan in two accounts', '300');
    await t.enqueueUpsert(noteId(2), 'fan gone', '400');
    await t.enqueueUpsert(noteId(3), 'fine');
    t.answer(refusal(400, 1, [1]), refusal(404, 2, [2]), ack);
    await t.runner.pump(true);
    expect(await t.outbox.entries()).toEqual([]);
    expect((await t.outbox.unsaved()).map((u) => [u.fanId, u.code])).toEqual([
      ['300', 'validation_error'],
      // No creator known: the fan cannot be registered, and that is the reason given.
      ['400', 'resource_not_found'],
    ]);
    expect((await t.outbox.unsaved())[1]!.reason).toContain('creator account');
    expect(t.calls.at(-1)!.mutations!.map((m) => m.id)).toEqual([3]);
  });

  test('a view stored by an older version, with `rejected`, still loads, and the next answer drops it', async () => {
    const t = setup();
    await store.set({
      [viewKey(FAN)]: { ...emptyView(FAN), rejected: [{ noteId: noteId(1), reason: 'note was deleted' }] },
    });
    expect((await t.view()).rejected).toHaveLength(1);
    t.answer({ notes: [note(noteId(2))] });
    await t.runner.request(FAN);
    expect(await t.view()).not.toHaveProperty('rejected');
    expect((await t.view()).notes).toHaveLength(1);
  });

  test('a refusal the server did not record (a foreign client id) keeps the outbox and stops there', async () => {
    const t = setup();
    await t.enqueueUpsert(noteId(1), 'kept', '300');
    await t.enqueueUpsert(noteId(2), 'waits behind it');
    t.answer(apiError(403, 'permission_denied'));
    await t.runner.pump(true);
    expect(t.calls).toHaveLength(1);
    expect((await t.outbox.entries()).map((e) => e.mutation.id)).toEqual([1, 2]);
    expect(await t.outbox.unsaved()).toEqual([]);
    expect(await t.status()).toMatchObject({ state: 'error', message: 'permission_denied happened' });
  });

  test("an unknown fan's refused edits are sent again after it is registered, renumbered, ahead of that fan's later edits", async () => {
    const t = setup();
    await store.set({ [KEYS.creator]: { id: '900001', username: 'creator' } });
    await t.enqueueUpsert(noteId(1), 'a new note about a fan new to the CRM', '300');
    await t.enqueueUpsert(noteId(2), 'another fan');
    await t.outbox.enqueue(
      USER,
      '300',
      { op: 'upsert', noteId: noteId(1), baseVersion: 0, note: { isPinned: true } },
      T0,
    );
    t.answer(refusal(404, 1, [1]), ack, ack, ack);
    await t.runner.pump(true);
    expect(t.api.upsertFan).toHaveBeenCalledWith({ accountId: ACCOUNT, fanId: '300' });
    expect(mutationsOf(t.calls)).toEqual([
      ['300', [1]],
      // Id 1 is processed for the server: the same change again as id 2, and everything after it
      // renumbered in order, so the pin (now 4) still follows the note it pins.
      ['300', [2]],
      [FAN, [3]],
      ['300', [4]],
    ]);
    expect(t.calls[1]!.mutations![0]).toEqual({
      id: 2,
      op: 'upsert',
      noteId: noteId(1),
      baseVersion: 0,
      note: { content: 'a new note about a fan new to the CRM' },
    });
    expect(t.calls[1]).toMatchObject({ accountId: ACCOUNT });
    expect(await t.outbox.entries()).toEqual([]);
    expect(await t.outbox.unsaved()).toEqual([]);
    expect(await t.outbox.client(USER)).toMatchObject({ nextMutationId: 5 });
  });

  test('registration failing for a passing reason keeps the refused edits in the outbox, renumbered, and backs off', async () => {
    const t = setup();
    await store.set({ [KEYS.creator]: { id: '900001' } });
    await t.enqueueUpsert(noteId(1), 'keep me', '300');
    t.api.listAccounts.mockRejectedValueOnce(apiError(0, 'network'));
    t.answer(refusal(404, 1, [1]));
    await t.runner.pump(true);
    expect((await t.outbox.entries()).map((e) => [e.fanId, e.mutation.id])).toEqual([['300', 2]]);
    expect(await t.outbox.unsaved()).toEqual([]);
    expect((await t.status()).state).toBe('offline');
    expect(t.scheduled).toEqual([T0 + 750]);
  });

  test("regression: a viewer's sync carrying OnlyFans' note is refused; the fan is read without it, and it is not sent again", async () => {
    const t = setup();
    await store.set({ [viewKey(FAN)]: { ...emptyView(FAN), notice: 'VIP' } });
    t.answer(apiError(403, 'permission_denied'), { notes: [note(noteId(1))] }, {});
    await t.runner.request(FAN);
    expect(t.calls.map((c) => c.onlyFansNotes)).toEqual([
      [{ onlyFansNoteId: FAN, content: 'VIP' }],
      undefined,
    ]);
    expect(await t.view()).toMatchObject({ error: null, refusedNotice: 'VIP', sentNotice: null });
    expect((await t.view()).notes).toHaveLength(1);
    expect(await t.status()).toEqual({ state: 'idle', message: null, retryAt: null });
    t.advance(defaultThrottlePolicy.minIntervalMs);
    await t.runner.request(FAN);
    expect(t.calls[2]!.onlyFansNotes).toBeUndefined();
  });

  test('a registered fan refused again (a viewer on that account): the edits become unsaved, no loop', async () => {
    const t = setup();
    await store.set({ [KEYS.creator]: { id: '900001' } });
    await t.enqueueUpsert(noteId(1), 'twice refused', '300');
    t.answer(refusal(404, 1, [1]), refusal(403, 2, [2]));
    await t.runner.pump(true);
    expect(t.calls).toHaveLength(2);
    expect(await t.outbox.entries()).toEqual([]);
    expect((await t.outbox.unsaved()).map((u) => [u.mutation.id, u.code])).toEqual([
      [2, 'permission_denied'],
    ]);
  });
});

describe('failures', () => {
  test('offline: the outbox stays, the status says so, and a retry is scheduled with backoff', async () => {
    const t = setup();
    await t.enqueueUpsert(noteId(1), 'while offline');
    t.answer(apiError(0, 'network'));
    await t.runner.pump(true);
    const status = await t.status();
    expect(status.state).toBe('offline');
    // Attempt 1: between 0.5 and 1 s (random 0.5 -> 750 ms).
    expect(t.scheduled).toEqual([T0 + 750]);
    expect(status.retryAt).toBe(T0 + 750);
    expect(await t.outbox.entries()).toHaveLength(1);

    // The alarm fires early: nothing is sent before the backoff is over.
    await t.runner.pump();
    expect(t.calls).toHaveLength(1);

    t.advance(750);
    t.answer(apiError(0, 'network'));
    await t.runner.pump();
    expect(await t.retry()).toMatchObject({ attempt: 2, notBefore: T0 + 750 + 1500 });

    t.advance(1500);
    t.answer({ lastMutationId: 1 });
    await t.runner.pump();
    expect(await t.outbox.entries()).toEqual([]);
    expect(await t.retry()).toBeUndefined();
    expect((await t.status()).state).toBe('idle');
  });

  test.each([
    [409, 'sync_in_progress'],
    [429, 'rate_limit_exceeded'],
    [503, 'service_unavailable'],
  ])('%i honours Retry-After, even for a user action', async (status, code) => {
    const t = setup();
    t.answer(apiError(status, code, { 'retry-after': '7' }));
    await t.runner.request(FAN);
    // 7 s plus up to 20 % jitter (at most 1 s): random 0.5 -> 500 ms.
    expect(t.scheduled).toEqual([T0 + 7_500]);
    expect(await t.status()).toMatchObject({ state: 'error', message: `${code} happened` });

    t.advance(7_000);
    await t.runner.request(FAN, true);
    expect(t.calls).toHaveLength(1);
    t.advance(500);
    t.answer({});
    await t.runner.pump();
    expect(t.calls).toHaveLength(2);
  });

  test('a user action retries at once after a network failure', async () => {
    const t = setup();
    t.answer(apiError(0, 'network'), {});
    await t.runner.request(FAN);
    await t.runner.request(FAN);
    expect(t.calls).toHaveLength(2);
  });

  test('an expired session pauses sync and keeps the outbox until the user signs in again', async () => {
    const t = setup();
    await t.enqueueUpsert(noteId(1), 'keep me');
    t.answer(apiError(401, 'authentication_required'));
    await t.runner.pump(true);
    expect(await t.status()).toMatchObject({ state: 'signed-out' });
    expect(t.scheduled).toEqual([]);
    expect(await t.outbox.entries()).toHaveLength(1);
  });

  test('signed out: no call at all, and the status says why', async () => {
    const t = setup({ session: { ok: false, message: 'Sign in at https://app.example.com.', userId: null } });
    await t.runner.request(FAN);
    expect(t.calls).toEqual([]);
    expect(await t.status()).toEqual({
      state: 'signed-out',
      message: 'Sign in at https://app.example.com.',
      retryAt: null,
    });
  });

  test("an unknown fan is registered under the creator's account, then synced", async () => {
    const t = setup();
    await store.set({
      [KEYS.creator]: { id: '900001', username: 'creator' },
      [viewKey(FAN)]: { ...emptyView(FAN), username: 'sam', name: 'Sam' },
    });
    t.answer(apiError(404, 'resource_not_found'), { notes: [] });
    await t.runner.request(FAN);
    expect(t.api.listAccounts).toHaveBeenCalledOnce();
    expect(t.api.registerAccount).toHaveBeenCalledWith({ onlyFansUserId: '900001', username: 'creator' });
    expect(t.api.upsertFan).toHaveBeenCalledWith({
      accountId: ACCOUNT,
      fanId: FAN,
      username: 'sam',
      name: 'Sam',
    });
    expect(t.calls[1]).toMatchObject({ fanId: FAN, accountId: ACCOUNT });
    expect(await store.get(KEYS.accounts)).toEqual({ '900001': ACCOUNT });
    expect((await t.status()).state).toBe('idle');
  });

  test('an existing account is used rather than registered again', async () => {
    const t = setup();
    await store.set({ [KEYS.creator]: { id: '900001' } });
    t.api.listAccounts.mockResolvedValue([
      { id: ACCOUNT, onlyFansUserId: '900001', username: 'creator', role: 'chatter', createdAt: '' },
    ]);
    t.answer(apiError(404, 'resource_not_found'), {});
    await t.runner.request(FAN);
    expect(t.api.registerAccount).not.toHaveBeenCalled();
    expect(t.api.upsertFan).toHaveBeenCalledWith({ accountId: ACCOUNT, fanId: FAN });
  });

  test('an unknown fan without a known creator is an error on that fan, not a retry loop', async () => {
    const t = setup();
    t.answer(apiError(404, 'resource_not_found'));
    await t.runner.request(FAN);
    expect(await t.status()).toMatchObject({ state: 'error' });
    expect((await t.view()).error).toContain('creator account');
    expect(t.scheduled).toEqual([]);
  });
});

describe('one creator, several agencies', () => {
  const OTHER_ACCOUNT = '9f6f3c1e-8f5e-4f7a-9d55-2a1b3c4d5e6f';
  const agency = (id: string, role: 'owner' | 'chatter' = 'chatter') => ({
    id,
    onlyFansUserId: '900001',
    username: 'creator',
    role,
    createdAt: '',
  });

  test('in two agencies of the creator and none chosen: nothing is registered, the chatter is sent to the Team screen', async () => {
    const t = setup();
    await store.set({ [KEYS.creator]: { id: '900001', username: 'creator' } });
    t.api.listAccounts.mockResolvedValue([agency(ACCOUNT), agency(OTHER_ACCOUNT)]);
    await t.enqueueUpsert(noteId(1), 'which agency?', '300');
    t.answer(refusal(404, 1, [1]));
    await t.runner.pump(true);
    expect(t.api.registerAccount).not.toHaveBeenCalled();
    expect(t.api.upsertFan).not.toHaveBeenCalled();
    expect(await t.status()).toMatchObject({ state: 'error' });
    expect((await t.status()).message).toContain('several agencies that manage @creator');
    expect((await t.status()).message).toContain('Team');
    // Kept as not saved, with "try again" once the agency is chosen.
    expect((await t.outbox.unsaved()).map((u) => [u.mutation.id, u.kind])).toEqual([[1, 'refused']]);
    expect(await store.get(KEYS.accounts)).toBeUndefined();
  });

  test('in two agencies with one chosen: the fan goes to the chosen one, and every sync names it', async () => {
    const t = setup();
    await store.set({
      [KEYS.creator]: { id: '900001', username: 'creator' },
      [KEYS.accounts]: { '900001': OTHER_ACCOUNT },
    });
    t.api.listAccounts.mockResolvedValue([agency(ACCOUNT, 'owner'), agency(OTHER_ACCOUNT)]);
    t.answer(apiError(404, 'resource_not_found'), {});
    await t.runner.request(FAN);
    expect(t.calls[0]).toMatchObject({ accountId: OTHER_ACCOUNT });
    expect(t.api.upsertFan).toHaveBeenCalledWith({ accountId: OTHER_ACCOUNT, fanId: FAN });
    expect(t.calls[1]).toMatchObject({ accountId: OTHER_ACCOUNT });
    expect(await store.get(KEYS.accounts)).toEqual({ '900001': OTHER_ACCOUNT });
  });

  test('a fan in several of my accounts (400, none named) is synced in the logged-in creator’s account', async () => {
    const t = setup();
    await store.set({ [KEYS.creator]: { id: '900001', username: 'creator' } });
    t.api.listAccounts.mockResolvedValue([
      agency(ACCOUNT),
      { ...agency(OTHER_ACCOUNT), onlyFansUserId: '900002', username: 'another_creator' },
    ]);
    t.answer(apiError(400, 'validation_error', {}, { accountIds: [ACCOUNT, OTHER_ACCOUNT] }), {
      notes: [note(noteId(1))],
    });
    await t.runner.request(FAN);
    expect(t.calls.map((call) => call.accountId)).toEqual([undefined, ACCOUNT]);
    expect(t.api.registerAccount).not.toHaveBeenCalled();
    expect((await t.view()).accountId).toBe(ACCOUNT);
    expect((await t.view()).notes).toHaveLength(1);
    expect((await t.status()).state).toBe('idle');
  });
});

describe('users', () => {
  test("another user's sign-in parks the outbox and forgets cached notes", async () => {
    const t = setup({ session: { ok: true, token: 't', userId: '22222222-2222-4222-8222-222222222222' } });
    await t.enqueueUpsert(noteId(1), 'by user one');
    await store.set({ [viewKey(FAN)]: { ...emptyView(FAN), notes: [note(noteId(9))] } });
    t.answer({});
    await t.runner.request(FAN);
    expect(t.calls[0]!.mutations).toBeUndefined();
    expect(await t.outbox.entries()).toEqual([]);
    expect(await store.get(`parked:${USER}`)).toMatchObject({ outbox: [{ mutation: { id: 1 } }] });
    expect((await t.view()).notes).toEqual([]);
  });
});

test('a pending outbox entry is shaped as the contract wants it', async () => {
  const t = setup();
  const entry: OutboxEntry = await t.enqueueUpsert(noteId(1), 'hello');
  expect(entry).toEqual({
    fanId: FAN,
    enqueuedAt: T0,
    mutation: { id: 1, op: 'upsert', noteId: noteId(1), baseVersion: 0, note: { content: 'hello' } },
  });
});
