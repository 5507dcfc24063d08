import { beforeEach, expect, test, vi } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { FAN, USER, fakeJwt, note, noteId } from '../test/helpers.ts';
import { KEYS, defaultSettings, emptyView, isViewKey, viewKey } from './model.ts';
import { Outbox } from './outbox.ts';
import { handleRequest, type RequestDeps } from './requests.ts';
import type { Session } from './runner.ts';
import { store } from './store.ts';
import { readView } from './views.ts';

function deps(session: Session) {
  const runner = { request: vi.fn(() => Promise.resolve()), pump: vi.fn(() => Promise.resolve()) };
  const outbox = new Outbox(store, () => '00000000-0000-4000-8000-000000000001');
  const value: RequestDeps = {
    store,
    outbox,
    runner,
    session: () => Promise.resolve(session),
    openOptions: () => Promise.resolve(),
    viewKeys: async () => Object.keys(await fakeBrowser.storage.local.get(null)).filter(isViewKey),
    now: () => 1000,
  };
  return { ...value, runner };
}

beforeEach(() => fakeBrowser.reset());

test('opening a fan records what OnlyFans shows (keeping what this message lacks) and asks for a sync', async () => {
  const d = deps({ ok: true, token: fakeJwt({}), userId: USER });
  await store.set({ [viewKey(FAN)]: { ...emptyView(FAN), notice: 'known before' } });
  const reply = await handleRequest(d, {
    type: 'fan-open',
    fan: { fanId: FAN, username: 'sam', name: 'Sam' },
    creator: { id: '900001', username: 'creator_jane' },
  });
  expect(reply).toEqual({ ok: true });
  expect(await readView(store, FAN)).toMatchObject({ username: 'sam', name: 'Sam', notice: 'known before' });
  expect(await store.get(KEYS.creator)).toEqual({ id: '900001', username: 'creator_jane' });
  expect(d.runner.request).toHaveBeenCalledWith(FAN);
});

test('an edit is in the outbox when the reply says ok, then a sync is started', async () => {
  const d = deps({ ok: true, token: 't', userId: USER });
  await store.set({ [viewKey(FAN)]: { ...emptyView(FAN), notes: [note(noteId(1), { version: 3 })] } });
  expect(
    await handleRequest(d, { type: 'note-save', fanId: FAN, noteId: noteId(1), edit: { isPinned: true } }),
  ).toEqual({ ok: true });
  expect((await d.outbox.entries()).map((e) => e.mutation)).toEqual([
    {
      id: 1,
      op: 'upsert',
      noteId: noteId(1),
      baseVersion: 3,
      note: { isPinned: true },
    },
  ]);
  expect(d.runner.pump).toHaveBeenCalledWith(true);
});

test('signed out with an expired session: edits are still kept, for the user who made them', async () => {
  const d = deps({ ok: false, message: 'expired', userId: USER });
  expect(
    await handleRequest(d, { type: 'note-save', fanId: FAN, edit: { content: 'offline and expired' } }),
  ).toEqual({ ok: true });
  expect(await d.outbox.entries()).toHaveLength(1);
});

test('never signed in: the edit is refused with a reason, and invalid text is refused too', async () => {
  const d = deps({ ok: false, message: 'sign in', userId: null });
  expect(await handleRequest(d, { type: 'note-save', fanId: FAN, edit: { content: 'x' } })).toEqual({
    ok: false,
    error: 'Sign in to FanNotes first (see the extension options).',
  });
  const signedIn = deps({ ok: true, token: 't', userId: USER });
  expect(await handleRequest(signedIn, { type: 'note-save', fanId: FAN, edit: { content: '   ' } })).toEqual({
    ok: false,
    error: 'content must not be empty',
  });
});

test('keeping the conflicting copy writes its text onto the original and deletes the copy', async () => {
  const d = deps({ ok: true, token: 't', userId: USER });
  await store.set({
    [viewKey(FAN)]: {
      ...emptyView(FAN),
      notes: [
        note(noteId(1), { content: 'theirs', version: 5 }),
        note(noteId(2), { content: 'mine', conflictOf: noteId(1), version: 5 }),
      ],
    },
  });
  await handleRequest(d, {
    type: 'conflict-keep',
    fanId: FAN,
    originalId: noteId(1),
    copyId: noteId(2),
    keep: 'copy',
  });
  expect((await d.outbox.entries()).map((e) => e.mutation)).toEqual([
    { id: 1, op: 'upsert', noteId: noteId(1), baseVersion: 5, note: { content: 'mine' } },
    { id: 2, op: 'delete', noteId: noteId(2), baseVersion: 5 },
  ]);
});

test('an unsaved edit is sent again with a new id (then a sync is started), or dismissed', async () => {
  const d = deps({ ok: true, token: 't', userId: USER });
  await handleRequest(d, { type: 'note-save', fanId: FAN, edit: { content: 'refused once' } });
  await handleRequest(d, { type: 'note-save', fanId: FAN, edit: { content: 'refused too' } });
  await d.outbox.settle(
    2,
    [1, 2].map((id) => ({ id, kind: 'refused' as const, code: 'permission_denied', reason: 'viewer' })),
    0,
  );
  d.runner.pump.mockClear();

  expect(await handleRequest(d, { type: 'unsaved-retry', id: 1 })).toEqual({ ok: true });
  expect((await d.outbox.entries()).map((e) => [e.mutation.id, e.mutation])).toMatchObject([
    [3, { op: 'upsert', note: { content: 'refused once' } }],
  ]);
  expect(d.runner.pump).toHaveBeenCalledWith(true);
  expect(await handleRequest(d, { type: 'unsaved-retry', id: 1 })).toEqual({
    ok: false,
    error: 'This change is no longer in the list.',
  });

  expect(await handleRequest(d, { type: 'unsaved-dismiss', id: 2 })).toEqual({ ok: true });
  expect(await d.outbox.unsaved()).toEqual([]);
});

test('settings are saved by the background, cleaned up; bad URLs are refused and change nothing', async () => {
  const d = deps({ ok: true, token: 't', userId: USER });
  expect(
    await handleRequest(d, {
      type: 'settings-save',
      settings: {
        apiUrl: ' https://api.example.com/ ',
        appOrigin: 'https://app.example.com/login',
        devToken: ' t ',
      },
    }),
  ).toEqual({ ok: true });
  expect(await store.get(KEYS.settings)).toEqual({
    apiUrl: 'https://api.example.com',
    appOrigin: 'https://app.example.com',
    devToken: 't',
  });
  expect(
    await handleRequest(d, { type: 'settings-save', settings: { ...defaultSettings, apiUrl: 'ftp://x' } }),
  ).toEqual({ ok: false, error: 'Enter http(s) URLs.' });
  expect(await store.get(KEYS.settings)).toMatchObject({ apiUrl: 'https://api.example.com' });
});

test('choosing another agency for a creator forgets the cached notes of the previous one and syncs', async () => {
  const d = deps({ ok: true, token: 't', userId: USER });
  await store.set({
    [KEYS.accounts]: { '900001': 'account-a', '900002': 'account-c' },
    [viewKey(FAN)]: { ...emptyView(FAN), accountId: 'account-a', notes: [note(noteId(1))] },
  });
  expect(
    await handleRequest(d, { type: 'account-choose', creatorId: '900001', accountId: 'account-b' }),
  ).toEqual({ ok: true });
  expect(await store.get(KEYS.accounts)).toEqual({ '900001': 'account-b', '900002': 'account-c' });
  expect(await store.get(viewKey(FAN))).toBeUndefined();
  expect(d.runner.pump).toHaveBeenCalledWith(true);
  // The same choice again changes nothing.
  d.runner.pump.mockClear();
  await store.set({ [viewKey(FAN)]: { ...emptyView(FAN), accountId: 'account-b' } });
  await handleRequest(d, { type: 'account-choose', creatorId: '900001', accountId: 'account-b' });
  expect(await store.get(viewKey(FAN))).toMatchObject({ accountId: 'account-b' });
  expect(d.runner.pump).not.toHaveBeenCalled();
});
