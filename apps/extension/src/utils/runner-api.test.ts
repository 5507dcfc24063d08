import { randomUUID } from 'node:crypto';
import type { Mutation } from '@fannotes/contract';
import { defaultThrottlePolicy } from '@fannotes/sync-core';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { createTestApp, type TestApp } from '../../../api/test/harness.ts';
import { createSyncApi } from './api-client.ts';
import { KEYS, isViewKey, viewKey, type FanView, type SyncStatus } from './model.ts';
import { Outbox } from './outbox.ts';
import { SyncRunner } from './runner.ts';
import { store } from './store.ts';

// The runner against the real API (tRPC over HTTP, PGlite), not a scripted fake: what the server
// really answers to paged pushes and refused fans is what the runner must cope with.

const OWNER = randomUUID();
const CHATTER = randomUUID();
let app: TestApp;
let url: string;
let fanNumber = 500_000;

beforeAll(async () => {
  app = await createTestApp();
  url = await app.listen();
}, 60_000);
afterAll(() => app?.close());
beforeEach(() => fakeBrowser.reset());

/** The extension of `userId`: runner and outbox on the fake browser's storage, the real tRPC client. */
function extension(userId: string) {
  const outbox = new Outbox(store, () => randomUUID());
  const runner = new SyncRunner({
    store,
    outbox,
    session: async () => ({ ok: true, token: await app.token(userId), userId }),
    api: (token) => Promise.resolve(createSyncApi(url, () => Promise.resolve(token))),
    viewKeys: async () => Object.keys(await fakeBrowser.storage.local.get(null)).filter(isViewKey),
    schedule: () => {},
    now: () => app.clock.now().getTime(),
    random: () => 0.5,
    policy: defaultThrottlePolicy,
  });
  const create = (fanId: string, content: string, noteId = `note_${randomUUID()}`) =>
    outbox.enqueue(userId, fanId, { op: 'upsert', noteId, baseVersion: 0, note: { content } }, 0);
  const pin = (fanId: string, noteId: string) =>
    outbox.enqueue(userId, fanId, { op: 'upsert', noteId, baseVersion: 0, note: { isPinned: true } }, 0);
  return {
    runner,
    outbox,
    create,
    pin,
    status: async () => (await store.get<SyncStatus>(KEYS.status))!,
    view: async (fanId: string) => (await store.get<FanView>(viewKey(fanId)))!,
  };
}

/** An account owned by OWNER, with CHATTER as a chatter, and fans in it. */
async function account(fanCount: number) {
  const owner = await app.caller(OWNER);
  const onlyFansUserId = String(fanNumber++);
  const registered = (
    await owner.accounts.register({ onlyFansUserId, username: `creator_${onlyFansUserId}` })
  ).data;
  const invite = (await owner.accounts.createInvite({ accountId: registered.id, role: 'chatter' })).data;
  await (await app.caller(CHATTER)).invites.redeem({ code: invite.code });
  const fanIds: string[] = [];
  for (let i = 0; i < fanCount; i++) {
    const fanId = String(fanNumber++);
    await owner.fans.upsert({ accountId: registered.id, fanId });
    fanIds.push(fanId);
  }
  return { accountId: registered.id, onlyFansUserId, fanIds };
}

/** The fan's live notes, as another client reads them. */
async function serverNotes(fanId: string) {
  const owner = await app.caller(OWNER);
  const notes = [];
  let cursor: string | undefined;
  for (;;) {
    const page = (await owner.notes.sync({ fanId, ...(cursor ? { cursor } : {}) })).data;
    notes.push(...page.notes);
    if (!page.more) return notes;
    cursor = page.cursor;
  }
}

/** Writes `count` notes of `size` characters through the owner's own client, 40 to a request. */
async function writeNotes(fanId: string, count: number, size: number) {
  const owner = await app.caller(OWNER);
  const clientId = randomUUID();
  for (let first = 1; first <= count; first += 40) {
    const mutations: Mutation[] = [];
    for (let id = first; id < Math.min(first + 40, count + 1); id++) {
      const content = `${id} ${'x'.repeat(size)}`.slice(0, size);
      mutations.push({ id, op: 'upsert', noteId: `note_${randomUUID()}`, baseVersion: 0, note: { content } });
    }
    await owner.notes.sync({ fanId, clientId, mutations });
  }
}

describe('the runner against the real API', () => {
  test('regression: a push whose answer is paged (more than 1 MiB of delta) drains the outbox, with no error', async () => {
    const { fanIds } = await account(1);
    const fanId = fanIds[0]!;
    const chatter = extension(CHATTER);
    await chatter.runner.request(fanId);
    const before = await chatter.view(fanId);
    expect(before.cursor).not.toBeNull();

    // Teammates write 1.25 MiB of notes: the chatter's cursor is now far behind.
    await writeNotes(fanId, 250, 5_000);
    await chatter.create(fanId, 'Written by the chatter');
    await chatter.runner.pump(true);

    expect(await chatter.outbox.entries()).toEqual([]);
    expect(await chatter.status()).toEqual({ state: 'idle', message: null, retryAt: null });
    const view = await chatter.view(fanId);
    expect(view.notes).toHaveLength(251);
    expect(view.notes.map((n) => n.content)).toContain('Written by the chatter');
    expect((await serverNotes(fanId)).filter((n) => n.content === 'Written by the chatter')).toHaveLength(1);
  }, 60_000);

  test('a chatter made a viewer on one account: edits for the other fans arrive, the refused ones are kept as not saved', async () => {
    const kept = await account(2);
    const lowered = await account(1);
    const refusedFan = lowered.fanIds[0]!;
    const chatter = extension(CHATTER);
    // Queued while offline, interleaved: the refused fan's edit is at the head of the outbox.
    await chatter.create(refusedFan, 'Refused: birthday on 3 June');
    await chatter.create(kept.fanIds[0]!, 'Saved: likes cats');
    await chatter.create(refusedFan, 'Refused: asked for a discount');
    await chatter.create(kept.fanIds[1]!, 'Saved: tips on Fridays');
    const owner = await app.caller(OWNER);
    await owner.accounts.addMember({ accountId: lowered.accountId, userId: CHATTER, role: 'viewer' });

    await chatter.runner.pump(true);

    expect((await serverNotes(kept.fanIds[0]!)).map((n) => n.content)).toEqual(['Saved: likes cats']);
    expect((await serverNotes(kept.fanIds[1]!)).map((n) => n.content)).toEqual(['Saved: tips on Fridays']);
    expect(await serverNotes(refusedFan)).toEqual([]);
    expect(await chatter.outbox.entries()).toEqual([]);
    const unsaved = await chatter.outbox.unsaved();
    expect(
      unsaved.map((u) => [
        u.fanId,
        u.mutation.op === 'upsert' ? u.mutation.note.content : null,
        u.kind,
        u.code,
        u.reason,
      ]),
    ).toEqual([
      [
        refusedFan,
        'Refused: birthday on 3 June',
        'refused',
        'permission_denied',
        'The viewer role cannot write notes or register fans.',
      ],
      [
        refusedFan,
        'Refused: asked for a discount',
        'refused',
        'permission_denied',
        'The viewer role cannot write notes or register fans.',
      ],
    ]);
    expect(await chatter.status()).toEqual({ state: 'idle', message: null, retryAt: null });

    // Made a chatter again, they try again: the same edits, with new ids, are saved.
    await owner.accounts.addMember({ accountId: lowered.accountId, userId: CHATTER, role: 'chatter' });
    for (const item of unsaved) await chatter.outbox.retry(CHATTER, item.mutation.id, 0);
    await chatter.runner.pump(true);
    expect((await serverNotes(refusedFan)).map((n) => n.content).sort()).toEqual([
      'Refused: asked for a discount',
      'Refused: birthday on 3 June',
    ]);
    expect(await chatter.outbox.unsaved()).toEqual([]);
  }, 60_000);

  test("regression: a fan new to the CRM is registered and its edits saved in order (the refusal's ids are spent)", async () => {
    const { onlyFansUserId, fanIds } = await account(1);
    await store.set({ [KEYS.creator]: { id: onlyFansUserId } });
    const newFan = String(fanNumber++);
    const noteId = `note_${randomUUID()}`;
    const chatter = extension(CHATTER);
    await chatter.create(newFan, 'About a fan new to the CRM', noteId);
    await chatter.create(fanIds[0]!, 'About a known fan');
    await chatter.pin(newFan, noteId);

    await chatter.runner.pump(true);

    expect(await chatter.outbox.entries()).toEqual([]);
    expect(await chatter.outbox.unsaved()).toEqual([]);
    expect(await serverNotes(newFan)).toMatchObject([
      { id: noteId, content: 'About a fan new to the CRM', isPinned: true },
    ]);
    expect((await serverNotes(fanIds[0]!)).map((n) => n.content)).toEqual(['About a known fan']);
  }, 60_000);

  test('regression: forty long notes queued offline reach the API in requests under its body limit (413 wedged the outbox)', async () => {
    const { fanIds } = await account(1);
    const chatter = extension(CHATTER);
    // 5,000 characters of two bytes each: 10 kB a note, 400 kB in all, the API takes 256 KiB a body.
    for (let n = 0; n < 40; n++) await chatter.create(fanIds[0]!, `${n} ${'é'.repeat(4_990)}`);
    await chatter.runner.pump(true);
    expect(await chatter.outbox.entries()).toEqual([]);
    expect(await chatter.status()).toEqual({ state: 'idle', message: null, retryAt: null });
    expect(await serverNotes(fanIds[0]!)).toHaveLength(40);
  }, 60_000);
});
