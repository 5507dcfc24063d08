import type { Member } from '@fannotes/contract';
import { beforeEach, expect, test, vi } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { membersKey, type MembersEntry } from './members.ts';
import { MEMBERS_MAX_AGE_MS, MEMBERS_MIN_INTERVAL_MS, MembersRefresher } from './members-refresh.ts';
import { KEYS, emptyView, type FanView } from './model.ts';
import type { Session } from './runner.ts';
import { store } from './store.ts';
import { ACCOUNT, USER, note, noteId } from '../test/helpers.ts';

const ANA = 'aaaaaaaa-0000-4000-8000-000000000001';
const BEN = 'bbbbbbbb-0000-4000-8000-000000000002';
const T0 = Date.parse('2026-01-01T00:00:00Z');

const member = (userId: string, displayName: string): Member => ({
  accountId: ACCOUNT,
  userId,
  displayName,
  role: 'chatter',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
});

function setup() {
  let now = T0;
  let members = [member(USER, 'Me'), member(ANA, 'Ana')];
  let session: Session = { ok: true, token: 't', userId: USER };
  const listMembers = vi.fn((accountId: string) => {
    expect(accountId).toBe(ACCOUNT);
    return Promise.resolve(members);
  });
  const refresher = new MembersRefresher({
    store,
    session: () => Promise.resolve(session),
    api: () => Promise.resolve({ listMembers }),
    now: () => now,
  });
  const viewBy = (...authors: string[]): FanView => ({
    ...emptyView('100'),
    accountId: ACCOUNT,
    notes: authors.map((author, i) => note(noteId(i + 1), { createdBy: author, updatedBy: author })),
  });
  const stored = () => store.get<MembersEntry>(membersKey(ACCOUNT));
  return {
    refresher,
    listMembers,
    viewBy,
    stored,
    tick: (ms: number) => (now += ms),
    setMembers: (next: Member[]) => (members = next),
    setSession: (next: Session) => (session = next),
  };
}

beforeEach(async () => {
  fakeBrowser.reset();
  await store.set({ [KEYS.client]: { userId: USER, clientId: 'c', nextMutationId: 1 } });
});

test('a view of an account never read stores its members with their names and roles', async () => {
  const t = setup();
  await t.refresher.viewChanged(t.viewBy(ANA));
  expect(t.listMembers).toHaveBeenCalledTimes(1);
  expect((await t.stored())?.members).toEqual([
    { userId: USER, displayName: 'Me', role: 'chatter' },
    { userId: ANA, displayName: 'Ana', role: 'chatter' },
  ]);
  expect((await t.stored())?.userId).toBe(USER);
});

test('known authors cause no lookup; a new one does, at most once a minute per account', async () => {
  const t = setup();
  await t.refresher.viewChanged(t.viewBy(ANA));
  await t.refresher.viewChanged(t.viewBy(ANA, USER));
  expect(t.listMembers).toHaveBeenCalledTimes(1);

  // Ben joined a few seconds later: his note waits for the minute to pass.
  t.setMembers([member(USER, 'Me'), member(ANA, 'Ana'), member(BEN, 'Ben')]);
  t.tick(10_000);
  await t.refresher.viewChanged(t.viewBy(ANA, BEN));
  expect(t.listMembers).toHaveBeenCalledTimes(1);
  t.tick(MEMBERS_MIN_INTERVAL_MS);
  await t.refresher.viewChanged(t.viewBy(ANA, BEN));
  expect(t.listMembers).toHaveBeenCalledTimes(2);
  expect((await t.stored())?.members.map((m) => m.displayName)).toEqual(['Me', 'Ana', 'Ben']);
});

test("a former teammate's id does not cause a lookup on every sync", async () => {
  const t = setup();
  const gone = 'dddddddd-0000-4000-8000-000000000004';
  for (let i = 0; i < 5; i += 1) {
    await t.refresher.viewChanged(t.viewBy(gone));
    t.tick(10_000);
  }
  expect(t.listMembers).toHaveBeenCalledTimes(1);
});

test('a sign-in and an old list are read again; a list of another user is not trusted for roles', async () => {
  const t = setup();
  await t.refresher.viewChanged(t.viewBy(ANA));
  t.tick(MEMBERS_MIN_INTERVAL_MS);
  t.refresher.signedIn();
  t.tick(1);
  await t.refresher.viewChanged(t.viewBy(ANA));
  expect(t.listMembers).toHaveBeenCalledTimes(2);

  t.tick(MEMBERS_MAX_AGE_MS);
  await t.refresher.viewChanged(t.viewBy(ANA));
  expect(t.listMembers).toHaveBeenCalledTimes(3);

  t.tick(MEMBERS_MIN_INTERVAL_MS);
  await store.set({ [KEYS.client]: { userId: ANA, clientId: 'c2', nextMutationId: 1 } });
  t.setSession({ ok: true, token: 't2', userId: ANA });
  await t.refresher.viewChanged(t.viewBy(ANA));
  expect(t.listMembers).toHaveBeenCalledTimes(4);
  expect((await t.stored())?.userId).toBe(ANA);
});

test('a failed lookup keeps the list and waits its minute; signed out, nothing is asked', async () => {
  const t = setup();
  await t.refresher.viewChanged(t.viewBy(ANA));
  t.listMembers.mockRejectedValueOnce(new Error('Failed to fetch'));
  t.tick(MEMBERS_MIN_INTERVAL_MS);
  await t.refresher.viewChanged(t.viewBy(BEN));
  expect((await t.stored())?.members).toHaveLength(2);
  t.tick(1_000);
  await t.refresher.viewChanged(t.viewBy(BEN));
  expect(t.listMembers).toHaveBeenCalledTimes(2);

  t.setSession({ ok: false, message: 'Sign in', userId: null });
  t.tick(MEMBERS_MIN_INTERVAL_MS);
  await t.refresher.viewChanged(t.viewBy(BEN));
  expect(t.listMembers).toHaveBeenCalledTimes(2);
});

test('a view without an account asks nothing', async () => {
  const t = setup();
  await t.refresher.viewChanged({ ...emptyView('100'), notes: [note(noteId(1), { createdBy: ANA })] });
  expect(t.listMembers).not.toHaveBeenCalled();
});
