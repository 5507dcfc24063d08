import { randomUUID } from 'node:crypto';
import { MAX_LIVE_NOTES_PER_FAN } from '@fannotes/contract';
import { fans, notes } from '@fannotes/db';
import { and, count, eq, isNull, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTestApp, rowCounts, seedAccount, type TestApp } from './harness.ts';

// A fan has at most MAX_LIVE_NOTES_PER_FAN live notes (issue 13.3: any signed-up user could fill a fan
// with 5,000 notes of 5,000 characters in seconds and make every read of it tens of MB). The count is
// kept in fans.live_note_count by every write, under the fan row's lock.

let app: TestApp;
let seeded: Awaited<ReturnType<typeof seedAccount>>;
let fanNumber = 700;
beforeAll(async () => {
  app = await createTestApp();
  seeded = await seedAccount(app, '699');
});
afterAll(() => app?.close());

async function newFan() {
  const fanId = String(fanNumber++);
  const owner = await app.caller(seeded.users.owner);
  await owner.fans.upsert({ accountId: seeded.account.id, fanId });
  const [fan] = await app.database.db.select().from(fans).where(eq(fans.fanId, fanId));
  return { fanId, fan: fan! };
}

async function counted(fanRowId: string) {
  const [row] = await app.database.db
    .select({ live: count() })
    .from(notes)
    .where(and(eq(notes.fanRowId, fanRowId), isNull(notes.deletedAt)));
  const [fan] = await app.database.db.select().from(fans).where(eq(fans.id, fanRowId));
  return { live: Number(row!.live), kept: fan!.liveNoteCount };
}

/** A fan holding `live` notes, written straight into the table, with its count. */
async function fullFan(live: number) {
  const { fanId, fan } = await newFan();
  await app.database.db.execute(sql`
    insert into notes (id, fan_row_id, account_id, content, version, content_version, created_at, updated_at)
    select 'note_' || gen_random_uuid(), ${fan.id}, ${fan.accountId}, 'filler ' || i, 1, 1, now(), now()
    from generate_series(1, ${live}) as i`);
  await app.database.db.update(fans).set({ version: 1, liveNoteCount: live }).where(eq(fans.id, fan.id));
  return { fanId, fan };
}

test('the live count follows creates, deletes, restores, conflict copies and OnlyFans imports and drops', async () => {
  const { fanId, fan } = await newFan();
  const chatter = await app.caller(seeded.users.chatter);
  const a = (await chatter.notes.update({ fanId, content: 'a' })).data;
  const b = (await chatter.notes.update({ fanId, content: 'b' })).data;
  await chatter.notes.update({ fanId, noteId: a.id, content: 'a, edited' });
  await chatter.notes.update({ fanId, noteId: a.id, baseVersion: a.version, content: 'a, stale' }); // copy
  await chatter.notes.delete({ fanId, noteId: b.id });
  const clientId = randomUUID();
  await chatter.notes.sync({
    fanId,
    clientId,
    mutations: [{ id: 1, op: 'upsert', noteId: b.id, baseVersion: b.version, note: { content: 'b again' } }],
    onlyFansNotes: [{ onlyFansNoteId: fanId, content: 'from OnlyFans' }],
  });
  expect(await counted(fan.id)).toEqual({ live: 4, kept: 4 });
  app.clock.advance(60_000);
  await chatter.notes.sync({ fanId, clientId, onlyFansNotes: [] });
  expect(await counted(fan.id)).toEqual({ live: 3, kept: 3 });
});

test(`a fan with ${MAX_LIVE_NOTES_PER_FAN} live notes refuses one more on every surface, and writes nothing`, async () => {
  const { fanId, fan } = await fullFan(MAX_LIVE_NOTES_PER_FAN);
  const chatter = await app.caller(seeded.users.chatter);
  const before = await rowCounts(app);
  await expect(chatter.notes.update({ fanId, content: 'one too many' })).rejects.toMatchObject({
    message: `The note was not changed: this fan has ${MAX_LIVE_NOTES_PER_FAN} notes, the most one fan can have: delete some first.`,
    code: 'BAD_REQUEST',
  });
  await expect(
    chatter.notes.updateFromOnlyFans({ fanId, onlyFansNoteId: 'of-1', content: 'from OnlyFans' }),
  ).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('not imported') });
  expect(await rowCounts(app)).toEqual(before);

  // The sync protocol answers the create as rejected (so the outbox moves on) and applies the edit.
  const [existing] = await app.database.db.select().from(notes).where(eq(notes.fanRowId, fan.id)).limit(1);
  const synced = (
    await chatter.notes.sync({
      fanId,
      clientId: randomUUID(),
      mutations: [
        { id: 1, op: 'upsert', noteId: `note_${randomUUID()}`, baseVersion: 0, note: { content: 'new' } },
        { id: 2, op: 'upsert', noteId: existing!.id, baseVersion: 1, note: { content: 'edited' } },
      ],
    })
  ).data;
  expect(synced.results.map((result) => result.status)).toEqual(['rejected', 'applied']);
  expect(synced.lastMutationId).toBe(2);
  expect(await counted(fan.id)).toEqual({
    live: MAX_LIVE_NOTES_PER_FAN,
    kept: MAX_LIVE_NOTES_PER_FAN,
  });
});

test('deleting a note of a full fan makes room for exactly one more', async () => {
  const { fanId, fan } = await fullFan(MAX_LIVE_NOTES_PER_FAN);
  const chatter = await app.caller(seeded.users.chatter);
  const [victim] = await app.database.db.select().from(notes).where(eq(notes.fanRowId, fan.id)).limit(1);
  await chatter.notes.delete({ fanId, noteId: victim!.id });
  await chatter.notes.update({ fanId, content: 'fits now' });
  await expect(chatter.notes.update({ fanId, content: 'and this does not' })).rejects.toMatchObject({
    code: 'BAD_REQUEST',
  });
  expect(await counted(fan.id)).toEqual({ live: MAX_LIVE_NOTES_PER_FAN, kept: MAX_LIVE_NOTES_PER_FAN });
});
