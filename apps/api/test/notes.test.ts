import { randomUUID } from 'node:crypto';
import { notes } from '@fannotes/db';
import { encodeCursor } from '@fannotes/sync-core';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTestApp, seedAccount, type TestApp } from './harness.ts';

// The single-note procedures through tRPC's createCaller, on the same auth and services as HTTP.

let app: TestApp;
let seeded: Awaited<ReturnType<typeof seedAccount>>;
beforeAll(async () => {
  app = await createTestApp();
  seeded = await seedAccount(app, '555');
});
afterAll(() => app?.close());

const fanId = '555';

test('update-note without noteId creates a note with the documented defaults', async () => {
  const chatter = await app.caller(seeded.users.chatter);
  const { data } = await chatter.notes.update({ fanId, content: '  Tips on Fridays  ' });
  expect(data).toMatchObject({
    fanId,
    content: 'Tips on Fridays',
    type: 'personal',
    color: null,
    isPinned: false,
    source: 'onlyautomator',
    createdBy: seeded.users.chatter,
  });
  expect(data.id).toMatch(/^note_[0-9a-f-]{36}$/);
});

test('update-note with noteId edits that note, keeps omitted fields and bumps its version', async () => {
  const chatter = await app.caller(seeded.users.chatter);
  const created = (await chatter.notes.update({ fanId, content: 'first', type: 'payment', color: '#112233' }))
    .data;
  app.clock.advance(1_000);
  const manager = await app.caller(seeded.users.manager);
  const edited = (
    await manager.notes.update({ fanId, noteId: created.id, content: 'second', isPinned: true })
  ).data;
  expect(edited).toMatchObject({
    id: created.id,
    content: 'second',
    type: 'payment',
    color: '#112233',
    isPinned: true,
    updatedBy: seeded.users.manager,
  });
  expect(edited.version).toBeGreaterThan(created.version);
  expect(Date.parse(edited.updatedAt) - Date.parse(created.updatedAt)).toBe(1_000);
});

test('an edit based on an old version with different text keeps both texts', async () => {
  const chatter = await app.caller(seeded.users.chatter);
  const created = (await chatter.notes.update({ fanId, content: 'original' })).data;
  await chatter.notes.update({ fanId, noteId: created.id, content: 'teammate edit' });
  const stale = (
    await chatter.notes.update({
      fanId,
      noteId: created.id,
      baseVersion: created.version,
      content: 'my offline edit',
    })
  ).data;
  expect(stale).toMatchObject({ content: 'my offline edit', conflictOf: created.id });
  const [kept] = await app.database.db.select().from(notes).where(eq(notes.id, created.id));
  expect(kept!.content).toBe('teammate edit');
});

test('update-of-note imports an OnlyFans note once and updates it by its OnlyFans id', async () => {
  const chatter = await app.caller(seeded.users.chatter);
  const first = (await chatter.notes.updateFromOnlyFans({ fanId, onlyFansNoteId: fanId, content: 'VIP' }))
    .data;
  expect(first).toMatchObject({ source: 'onlyfans', onlyFansNoteId: fanId, content: 'VIP' });
  const second = (
    await chatter.notes.updateFromOnlyFans({ fanId, onlyFansNoteId: fanId, content: 'VIP, tips' })
  ).data;
  expect(second).toMatchObject({ id: first.id, content: 'VIP, tips', source: 'onlyfans' });
  const rows = await app.database.db.select().from(notes).where(eq(notes.onlyFansNoteId, fanId));
  expect(rows).toHaveLength(1);
});

test('delete-note leaves a tombstone that sync no longer lists, and deleting again is harmless', async () => {
  const chatter = await app.caller(seeded.users.chatter);
  const created = (await chatter.notes.update({ fanId, content: 'to delete' })).data;
  const deleted = (await chatter.notes.delete({ fanId, noteId: created.id })).data;
  expect(deleted).toMatchObject({ id: created.id, fanId });
  expect(deleted.version).toBeGreaterThan(created.version);
  const [row] = await app.database.db.select().from(notes).where(eq(notes.id, created.id));
  expect(row!.deletedAt).not.toBeNull();
  expect((await chatter.notes.delete({ fanId, noteId: created.id })).data.id).toBe(created.id);
  app.clock.advance(60_000);
  const synced = (await chatter.notes.sync({ fanId })).data;
  expect(synced.notes.map((note) => note.id)).not.toContain(created.id);
});

test('a note id that does not exist is not found for update and delete', async () => {
  const chatter = await app.caller(seeded.users.chatter);
  const noteId = `note_${randomUUID()}`;
  await expect(chatter.notes.update({ fanId, noteId, content: 'x' })).rejects.toMatchObject({
    code: 'NOT_FOUND',
    apiCode: 'resource_not_found',
  });
  await expect(chatter.notes.delete({ fanId, noteId })).rejects.toMatchObject({
    apiCode: 'resource_not_found',
  });
});

test('every write bumps the fan version once and sync reports it as the cursor', async () => {
  const chatter = await app.caller(seeded.users.chatter);
  app.clock.advance(60_000);
  const before = (await chatter.notes.sync({ fanId })).data.cursor;
  await chatter.notes.update({ fanId, content: 'one more' });
  app.clock.advance(60_000);
  const after = (await chatter.notes.sync({ fanId, cursor: before })).data;
  expect(after.reset).toBe(false);
  expect(after.notes.map((note) => note.content)).toEqual(['one more']);
  expect(after.cursor).not.toBe(before);
});

test('every way a sync reads notes lists each note exactly as the note endpoints returned it', async () => {
  const listFan = '556';
  const owner = await app.caller(seeded.users.owner);
  await owner.fans.upsert({ accountId: seeded.account.id, fanId: listFan });
  const chatter = await app.caller(seeded.users.chatter);
  const plain = (await chatter.notes.update({ fanId: listFan, content: 'plain' })).data;
  const styled = (
    await chatter.notes.update({
      fanId: listFan,
      content: 'pinned, coloured, typed',
      type: 'payment',
      color: '#00AFF0',
      isPinned: true,
    })
  ).data;
  const imported = (
    await chatter.notes.updateFromOnlyFans({ fanId: listFan, onlyFansNoteId: '77', content: 'from OnlyFans' })
  ).data;
  const manager = await app.caller(seeded.users.manager);
  const edited = (
    await manager.notes.update({ fanId: listFan, noteId: plain.id, content: 'edited by a teammate' })
  ).data;
  const copy = (
    await chatter.notes.update({
      fanId: listFan,
      noteId: plain.id,
      baseVersion: plain.version,
      content: 'offline edit',
    })
  ).data;
  expect(copy.conflictOf).toBe(plain.id);
  const byId = (list: readonly { id: string }[]) => [...list].sort((a, b) => (a.id < b.id ? -1 : 1));
  const expected = byId([styled, imported, edited, copy]);

  app.clock.advance(60_000);
  const full = (await chatter.notes.sync({ fanId: listFan })).data;
  expect(full.synchronized).toBe(true);
  expect(byId(full.notes)).toEqual(expected);
  const throttled = (await chatter.notes.sync({ fanId: listFan })).data;
  expect(throttled.throttled).toBe(true);
  expect(throttled.notes).toEqual(full.notes);
  const delta = (await chatter.notes.sync({ fanId: listFan, cursor: encodeCursor(copy.version - 1) })).data;
  expect(delta.notes).toEqual([copy]);

  // A push's page: the note it restyled in its new state, beside the notes it left alone.
  const pushed = (
    await chatter.notes.sync({
      fanId: listFan,
      clientId: randomUUID(),
      mutations: [
        { id: 1, op: 'upsert', noteId: styled.id, baseVersion: styled.version, note: { color: null } },
      ],
    })
  ).data;
  const restyled = pushed.notes.find((note) => note.id === styled.id)!;
  expect(restyled.version).toBeGreaterThan(copy.version);
  expect(restyled.updatedAt).toBe(app.clock.now().toISOString());
  expect(byId(pushed.notes)).toEqual(
    byId([
      { ...styled, color: null, version: restyled.version, updatedAt: restyled.updatedAt },
      imported,
      edited,
      copy,
    ]),
  );
});
