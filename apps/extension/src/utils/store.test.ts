import type { SyncNotesInput } from '@fannotes/contract';
import { defaultThrottlePolicy } from '@fannotes/sync-core';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { ACCOUNT, FAN, USER, note, noteId, syncData } from '../test/helpers.ts';
import { validateMutation } from './edits.ts';
import { KEYS, defaultSettings, viewKey, type FanView, type OutboxEntry, type UnsavedEdit } from './model.ts';
import { Outbox } from './outbox.ts';
import { SyncRunner } from './runner.ts';
import { loadSettings } from './settings.ts';
import { STORAGE_VERSION, openStore, type Store } from './store.ts';
import { updateView } from './views.ts';

const OTHER_FAN = '100000456';
const OTHER_USER = '22222222-2222-4222-8222-222222222222';
const CLIENT = '00000000-0000-4000-8000-000000000001';

/** The store as the extension had it up to issue 16: plain `browser.storage.local`, no versions. */
const legacyStore: Store = {
  async get<T>(key: string) {
    return (await fakeBrowser.storage.local.get(key))[key] as T | undefined;
  },
  async set(items) {
    await fakeBrowser.storage.local.set(items);
  },
  async remove(keys) {
    await fakeBrowser.storage.local.remove(keys);
  },
};

const upsert = (n: number, content = `note ${n}`) => ({
  op: 'upsert' as const,
  noteId: noteId(n),
  baseVersion: 0,
  note: { content },
});

/**
 * State as issue 16's code leaves it, written by that code's own paths (the Outbox and views on the
 * legacy store): another user's parked outbox, three pending edits over two fans, one unsaved edit,
 * settings from before `devToken` existed, and a view from before `refusedNotice`/`staleVersion`.
 */
async function writeLegacyState() {
  let ids = 0;
  const box = new Outbox(legacyStore, () => `00000000-0000-4000-8000-00000000000${++ids}`);
  await box.enqueue(OTHER_USER, FAN, upsert(9, 'written by the other user'), 500, validateMutation);
  // USER signs in: OTHER_USER's client and outbox are parked.
  for (const [n, fanId] of [
    [1, FAN],
    [2, FAN],
    [3, OTHER_FAN],
    [4, FAN],
  ] as const) {
    await box.enqueue(USER, fanId, upsert(n, `pending ${n} — “quoted” 🙂`), 1000 + n, validateMutation);
  }
  await box.settle(1, [{ id: 1, kind: 'refused', code: 'permission_denied', reason: 'Viewer.' }], 2000);
  await updateView(legacyStore, FAN, (view) => ({
    ...view,
    accountId: ACCOUNT,
    username: 'sam',
    notes: [note(noteId(7), { content: 'from the server' })],
    cursor: 'v1.3',
    syncedAt: '2026-01-01T00:00:00.000Z',
  }));
  // A view of issue 13's time, with its refused mutations still listed.
  const oldView = {
    ...(await legacyStore.get<FanView>(viewKey(FAN)))!,
    fanId: OTHER_FAN,
    rejected: [{ noteId: noteId(8), reason: 'note not found' }],
  };
  delete (oldView as Partial<FanView>).refusedNotice;
  await legacyStore.set({
    [KEYS.settings]: { apiUrl: 'https://api.example.com', appOrigin: 'https://app.example.com' },
    [KEYS.creator]: { id: '555', username: 'creator' },
    [KEYS.accounts]: { '555': ACCOUNT },
    [KEYS.status]: { state: 'offline', message: 'The FanNotes API cannot be reached.', retryAt: 9000 },
    [KEYS.retry]: { attempt: 2, notBefore: 9000, serverAsked: false },
    [viewKey(OTHER_FAN)]: oldView,
  });
  return fakeBrowser.storage.local.get(null);
}

beforeEach(() => {
  fakeBrowser.reset();
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('stored state of an earlier version', () => {
  test('is upgraded with every outbox entry, unsaved edit, setting and view intact', async () => {
    const before = await writeLegacyState();
    expect(Object.keys(before).some((key) => key.endsWith('$'))).toBe(false);
    const outboxBefore = before[KEYS.outbox] as OutboxEntry[];
    expect(outboxBefore.map((entry) => entry.mutation.id)).toEqual([2, 3, 4]);

    const store = openStore();
    await store.migrate();
    const after = await fakeBrowser.storage.local.get(null);

    // Every key now says its version; nothing went missing.
    for (const key of Object.keys(before)) expect(after[`${key}$`]).toEqual({ v: STORAGE_VERSION });
    expect(
      Object.keys(after)
        .filter((key) => !key.endsWith('$'))
        .sort(),
    ).toEqual(Object.keys(before).sort());
    // The user's words, byte for byte: pending, unsaved, and the other user's parked outbox.
    for (const key of [KEYS.outbox, KEYS.unsaved, KEYS.client, `parked:${OTHER_USER}`]) {
      expect(after[key]).toEqual(before[key]);
    }
    for (const key of [KEYS.creator, KEYS.accounts, KEYS.status, KEYS.retry]) {
      expect(after[key]).toEqual(before[key]);
    }
    // Settings gain the field they lacked; views the fields they lacked, and keep everything else.
    expect(after[KEYS.settings]).toEqual({ ...defaultSettings, ...(before[KEYS.settings] as object) });
    expect(after[viewKey(FAN)]).toEqual({
      ...(before[viewKey(FAN)] as object),
      refusedNotice: null,
      staleVersion: null,
    });
    expect(after[viewKey(OTHER_FAN)]).toMatchObject({
      ...(before[viewKey(OTHER_FAN)] as object),
      refusedNotice: null,
      staleVersion: null,
    });
    expect((after[viewKey(OTHER_FAN)] as FanView).rejected).toEqual([
      { noteId: noteId(8), reason: 'note not found' },
    ]);
    expect(await loadSettings(store)).toEqual({ ...defaultSettings, ...(before[KEYS.settings] as object) });
  });

  test('the upgraded outbox is sent in order, from the same client, and numbering goes on', async () => {
    await writeLegacyState();
    const store = openStore();
    const outbox = new Outbox(store, () => 'a new client id would be a bug');
    const calls: SyncNotesInput[] = [];
    const runner = new SyncRunner({
      store,
      outbox,
      session: () => Promise.resolve({ ok: true, token: 'token', userId: USER }),
      api: () =>
        Promise.resolve({
          sync: (input: SyncNotesInput) => {
            calls.push(structuredClone(input));
            const last = input.mutations?.at(-1)?.id ?? null;
            return Promise.resolve(syncData({ lastMutationId: last, reset: false, cursor: 'v1.9' }));
          },
          listAccounts: () => Promise.resolve([]),
          registerAccount: () => Promise.reject(new Error('not expected')),
          upsertFan: () => Promise.reject(new Error('not expected')),
        }),
      viewKeys: () => Promise.resolve([]),
      schedule: () => undefined,
      now: () => 10_000,
      random: () => 0.5,
      policy: defaultThrottlePolicy,
    });
    await runner.pump(true);

    expect(calls.map((call) => [call.fanId, call.clientId, call.mutations?.map((m) => m.id)])).toEqual([
      [FAN, CLIENT.replace(/1$/, '2'), [2]],
      [OTHER_FAN, CLIENT.replace(/1$/, '2'), [3]],
      [FAN, CLIENT.replace(/1$/, '2'), [4]],
    ]);
    expect(calls[0]!.accountId).toBe(ACCOUNT);
    expect(calls[0]!.mutations?.[0]).toMatchObject({ note: { content: 'pending 2 — “quoted” 🙂' } });
    expect(await outbox.entries()).toEqual([]);
    const next = await outbox.enqueue(USER, FAN, upsert(5), 11_000, validateMutation);
    expect(next.mutation.id).toBe(5);
    // The refused edit is still shown as not saved, and the other user's outbox waits for them.
    expect((await outbox.unsaved()).map((item: UnsavedEdit) => item.mutation.id)).toEqual([1]);
    await outbox.client(OTHER_USER);
    expect((await outbox.entries()).map((entry) => entry.mutation)).toMatchObject([
      { note: { content: 'written by the other user' } },
    ]);
  });

  test('an edit made while the upgrade runs is kept: the upgrade never writes back an older outbox', async () => {
    await writeLegacyState();
    // Hold the upgrade's write of the outbox until the test lets it go.
    const set = fakeBrowser.storage.local.set.bind(fakeBrowser.storage.local);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    vi.spyOn(fakeBrowser.storage.local, 'set').mockImplementation(async (items) => {
      if (`${KEYS.outbox}$` in items && (items[`${KEYS.outbox}$`] as { v: number }).v === STORAGE_VERSION) {
        if (!(KEYS.client in items)) await held; // the migration's own write, not an enqueue's
      }
      return set(items);
    });
    const store = openStore();
    const outbox = new Outbox(store, () => 'unused');
    let enqueued = false;
    const enqueue = outbox.enqueue(USER, FAN, upsert(5), 11_000, validateMutation).then((entry) => {
      enqueued = true;
      return entry;
    });
    const migrated = store.migrate();
    await new Promise((resolve) => setTimeout(resolve, 0));
    // The edit waits for the outbox's upgrade (it would otherwise be overwritten by it).
    expect(enqueued).toBe(false);
    release();
    await migrated;
    expect((await enqueue).mutation.id).toBe(5);
    const stored = (await fakeBrowser.storage.local.get(KEYS.outbox))[KEYS.outbox] as OutboxEntry[];
    expect(stored.map((item) => item.mutation.id)).toEqual([2, 3, 4, 5]);
  });

  test('state written at this version is not migrated again when the extension restarts', async () => {
    const store = openStore();
    await store.set({ [KEYS.settings]: { apiUrl: 'https://api.example.com' } });
    expect(await fakeBrowser.storage.local.get(`${KEYS.settings}$`)).toEqual({
      [`${KEYS.settings}$`]: { v: STORAGE_VERSION },
    });
    // A restarted worker: a new store on the same storage. Version 2's step (fill defaults) must not run.
    await openStore().migrate();
    expect((await fakeBrowser.storage.local.get(KEYS.settings))[KEYS.settings]).toEqual({
      apiUrl: 'https://api.example.com',
    });
  });

  test('removing a key removes its version with it', async () => {
    const store = openStore();
    await store.set({ [viewKey(FAN)]: { fanId: FAN }, [KEYS.retry]: { attempt: 1 } });
    await store.remove([viewKey(FAN), KEYS.retry]);
    expect(await fakeBrowser.storage.local.get(null)).toEqual({});
  });
});
