import { randomUUID } from 'node:crypto';
import { MAX_SYNC_PAGE_BYTES, type Mutation } from '@fannotes/contract';
import { fans, memberships, notes, syncClients } from '@fannotes/db';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { toApiError } from '../src/errors.ts';
import { createTestApp, seedAccount, type TestApp } from './harness.ts';

// The protocol fields of notes.sync: exactly-once mutations, conflicts, deltas, OnlyFans snapshots.

let app: TestApp;
let seeded: Awaited<ReturnType<typeof seedAccount>>;
let fanNumber = 900;
beforeAll(async () => {
  app = await createTestApp();
  seeded = await seedAccount(app, '899');
});
afterAll(() => app?.close());

async function newFan() {
  const fanId = String(fanNumber++);
  const owner = await app.caller(seeded.users.owner);
  await owner.fans.upsert({ accountId: seeded.account.id, fanId });
  return fanId;
}

const upsert = (id: number, noteId: string, content: string, baseVersion = 0): Mutation => ({
  id,
  op: 'upsert',
  noteId,
  baseVersion,
  note: { content },
});

test('replaying a request changes nothing and answers duplicate with the same lastMutationId', async () => {
  const fanId = await newFan();
  const chatter = await app.caller(seeded.users.chatter);
  const clientId = randomUUID();
  const request = {
    fanId,
    clientId,
    mutations: [upsert(1, `note_${randomUUID()}`, 'a'), upsert(2, `note_${randomUUID()}`, 'b')],
  };
  const first = (await chatter.notes.sync(request)).data;
  expect(first.results.map((result) => result.status)).toEqual(['applied', 'applied']);
  expect(first.lastMutationId).toBe(2);
  const replay = (await chatter.notes.sync(request)).data;
  expect(replay.results.map((result) => result.status)).toEqual(['duplicate', 'duplicate']);
  expect(replay.lastMutationId).toBe(2);
  expect(replay.noteCount).toBe(2);
  expect(replay.cursor).toBe(first.cursor);
});

test('a gap in mutation ids stops processing at the gap', async () => {
  const fanId = await newFan();
  const chatter = await app.caller(seeded.users.chatter);
  const clientId = randomUUID();
  const result = (
    await chatter.notes.sync({
      fanId,
      clientId,
      mutations: [upsert(1, `note_${randomUUID()}`, 'one'), upsert(3, `note_${randomUUID()}`, 'three')],
    })
  ).data;
  expect(result.results).toEqual([expect.objectContaining({ id: 1, status: 'applied' })]);
  expect(result.lastMutationId).toBe(1);
  expect(result.notes.map((note) => note.content)).toEqual(['one']);
});

test('a rejected mutation still advances lastMutationId', async () => {
  const fanId = await newFan();
  const chatter = await app.caller(seeded.users.chatter);
  const noteId = `note_${randomUUID()}`;
  const clientA = randomUUID();
  const created = (
    await chatter.notes.sync({ fanId, clientId: clientA, mutations: [upsert(1, noteId, 'v1')] })
  ).data;
  const base = created.notes[0]!.version;
  await chatter.notes.update({ fanId, noteId, content: 'teammate rewrote it' });
  const clientB = randomUUID();
  const stale = (
    await chatter.notes.sync({
      fanId,
      clientId: clientB,
      mutations: [{ id: 1, op: 'delete', noteId, baseVersion: base }],
    })
  ).data;
  expect(stale.results).toEqual([expect.objectContaining({ id: 1, status: 'rejected' })]);
  expect(stale.lastMutationId).toBe(1);
  expect(stale.notes.map((note) => note.content)).toContain('teammate rewrote it');
});

test('a rejected mutation sent again (its answer lost) is a duplicate that still says why it was not saved', async () => {
  const fanId = await newFan();
  const chatter = await app.caller(seeded.users.chatter);
  const noteId = `note_${randomUUID()}`;
  const created = (
    await chatter.notes.sync({ fanId, clientId: randomUUID(), mutations: [upsert(1, noteId, 'v1')] })
  ).data;
  await chatter.notes.update({ fanId, noteId, content: 'teammate rewrote it' });
  const clientId = randomUUID();
  const staleDelete: Mutation = { id: 1, op: 'delete', noteId, baseVersion: created.notes[0]!.version };
  const first = (await chatter.notes.sync({ fanId, clientId, mutations: [staleDelete] })).data;
  const [rejected] = first.results;
  expect(rejected).toMatchObject({ id: 1, status: 'rejected', reason: expect.any(String) });
  const create = upsert(2, `note_${randomUUID()}`, 'new');
  const again = (await chatter.notes.sync({ fanId, clientId, mutations: [staleDelete, create] })).data;
  expect(again.results).toEqual([
    { id: 1, noteId, status: 'duplicate', reason: (rejected as { reason: string }).reason },
    expect.objectContaining({ id: 2, status: 'applied' }),
  ]);
  // Once more: the applied one is a plain duplicate.
  const third = (await chatter.notes.sync({ fanId, clientId, mutations: [create] })).data;
  expect(third.results).toEqual([{ id: 2, noteId: create.noteId, status: 'duplicate' }]);
  expect(again.notes.map((note) => note.content)).toContain('teammate rewrote it');
});

test.skipIf(!process.env.DATABASE_URL)(
  'a rejection committed while a push of the same client waited for its row is still reported (PostgreSQL)',
  async () => {
    const fanId = await newFan();
    const chatter = await app.caller(seeded.users.chatter);
    const clientId = randomUUID();
    const mutation = upsert(1, `note_${randomUUID()}`, 'text');
    // Register the client (id 0 processed), then let another request of the client hold its row,
    // record mutation 1 as rejected and commit only once the push below waits for that row.
    await chatter.notes.sync({ fanId, clientId, mutations: [], onlyFansNotes: [] });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const other = app.database.db.transaction(async (tx) => {
      await tx.execute(sql`select 1 from sync_clients where client_id = ${clientId} for update`);
      await tx.execute(sql`update sync_clients set last_mutation_id = 1 where client_id = ${clientId}`);
      await tx.execute(sql`insert into sync_rejections (client_id, mutation_id, reason, created_at)
        values (${clientId}, 1, 'rejected elsewhere', now())`);
      locked();
      await held;
    });
    await isLocked;
    const push = chatter.notes.sync({ fanId, clientId, mutations: [mutation] });
    await new Promise((resolve) => setTimeout(resolve, 300));
    release();
    await other;
    const answer = (await push).data;
    expect(answer.results).toEqual([
      { id: 1, noteId: mutation.noteId, status: 'duplicate', reason: 'rejected elsewhere' },
    ]);
    expect(answer.lastMutationId).toBe(1);
  },
);

test('concurrent text edits keep the server text and save the client text as a conflict copy', async () => {
  const fanId = await newFan();
  const chatter = await app.caller(seeded.users.chatter);
  const noteId = `note_${randomUUID()}`;
  const clientA = randomUUID();
  const clientB = randomUUID();
  const created = (
    await chatter.notes.sync({ fanId, clientId: clientA, mutations: [upsert(1, noteId, 'base')] })
  ).data;
  const base = created.notes[0]!.version;
  await chatter.notes.sync({ fanId, clientId: clientA, mutations: [upsert(2, noteId, 'A edit', base)] });
  const fromB = (
    await chatter.notes.sync({ fanId, clientId: clientB, mutations: [upsert(1, noteId, 'B edit', base)] })
  ).data;
  const [result] = fromB.results;
  expect(result).toMatchObject({ status: 'conflict' });
  const copyId = result!.status === 'conflict' ? result!.conflictNoteId : '';
  const byId = new Map(fromB.notes.map((note) => [note.id, note]));
  expect(byId.get(noteId)?.content).toBe('A edit');
  expect(byId.get(copyId)).toMatchObject({ content: 'B edit', conflictOf: noteId });
});

test("a client's own second offline edit is not a conflict with its first", async () => {
  const fanId = await newFan();
  const chatter = await app.caller(seeded.users.chatter);
  const noteId = `note_${randomUUID()}`;
  const clientId = randomUUID();
  const result = (
    await chatter.notes.sync({
      fanId,
      clientId,
      mutations: [upsert(1, noteId, 'draft'), upsert(2, noteId, 'draft, finished')],
    })
  ).data;
  expect(result.results.map((r) => r.status)).toEqual(['applied', 'applied']);
  expect(result.notes.map((note) => note.content)).toEqual(['draft, finished']);
});

test('deltas from a cursor report changes and deletions, and equal the full set', async () => {
  const fanId = await newFan();
  const chatter = await app.caller(seeded.users.chatter);
  const keep = (await chatter.notes.update({ fanId, content: 'keep' })).data;
  const drop = (await chatter.notes.update({ fanId, content: 'drop' })).data;
  const start = (await chatter.notes.sync({ fanId })).data;
  expect(start.reset).toBe(true);
  await chatter.notes.delete({ fanId, noteId: drop.id });
  await chatter.notes.update({ fanId, noteId: keep.id, content: 'kept and edited' });
  await chatter.notes.update({ fanId, content: 'new' });
  app.clock.advance(60_000);
  const delta = (await chatter.notes.sync({ fanId, cursor: start.cursor })).data;
  expect(delta.reset).toBe(false);
  expect(delta.deletedNoteIds).toEqual([drop.id]);
  const applied = new Map(start.notes.map((note) => [note.id, note]));
  for (const id of delta.deletedNoteIds) applied.delete(id);
  for (const note of delta.notes) applied.set(note.id, note);
  app.clock.advance(60_000);
  const full = (await chatter.notes.sync({ fanId })).data;
  expect([...applied.values()].map((note) => note.content).sort()).toEqual(
    full.notes.map((note) => note.content).sort(),
  );
  expect(full.cursor).toBe(delta.cursor);
});

test('an OnlyFans snapshot imports, updates and, when a note disappears, tombstones it', async () => {
  const fanId = await newFan();
  const chatter = await app.caller(seeded.users.chatter);
  const first = (
    await chatter.notes.sync({ fanId, onlyFansNotes: [{ onlyFansNoteId: fanId, content: 'VIP' }] })
  ).data;
  expect(first.notes).toEqual([expect.objectContaining({ source: 'onlyfans', content: 'VIP' })]);
  const updated = (
    await chatter.notes.sync({ fanId, onlyFansNotes: [{ onlyFansNoteId: fanId, content: 'VIP, evenings' }] })
  ).data;
  expect(updated.notes.map((note) => note.content)).toEqual(['VIP, evenings']);
  const cleared = (await chatter.notes.sync({ fanId, cursor: updated.cursor, onlyFansNotes: [] })).data;
  expect(cleared.deletedNoteIds).toEqual([first.notes[0]!.id]);
});

test('an unknown cursor resets to the full set', async () => {
  const fanId = await newFan();
  const chatter = await app.caller(seeded.users.chatter);
  await chatter.notes.update({ fanId, content: 'x' });
  const result = (await chatter.notes.sync({ fanId, cursor: 'garbage' })).data;
  expect(result).toMatchObject({ reset: true, noteCount: 1 });
});

test('tombstones older than the horizon are purged, and a cursor from before them resets', async () => {
  const fanId = await newFan();
  const chatter = await app.caller(seeded.users.chatter);
  const gone = (await chatter.notes.update({ fanId, content: 'deleted long ago' })).data;
  const kept = (await chatter.notes.update({ fanId, content: 'still here' })).data;
  const old = (await chatter.notes.sync({ fanId })).data;
  await chatter.notes.delete({ fanId, noteId: gone.id });
  const recent = (await chatter.notes.sync({ fanId, force: true, cursor: old.cursor })).data;
  expect(recent.deletedNoteIds).toEqual([gone.id]);

  app.clock.advance(app.deps.tombstoneTtlMs + 60_000);
  const later = await app.caller(seeded.users.chatter);
  const afterHorizon = (await later.notes.sync({ fanId, cursor: old.cursor })).data;
  expect(afterHorizon).toMatchObject({ reset: true, deletedNoteIds: [] });
  expect(afterHorizon.notes.map((note) => note.id)).toEqual([kept.id]);
  expect(await app.database.db.select().from(notes).where(eq(notes.id, gone.id))).toEqual([]);
  // A cursor taken after the purge still gets plain deltas.
  app.clock.advance(60_000);
  expect((await later.notes.sync({ fanId, cursor: afterHorizon.cursor })).data.reset).toBe(false);
});

// Found by the generated scripts on the database (protocol-scripts.test.ts): the note kept the time
// of its first deletion, so it was purged up to 30 days early and a client's delta became a reset.
test('a note brought back and deleted again in one request is a tombstone from that request on', async () => {
  const fanId = await newFan();
  const chatter = await app.caller(seeded.users.chatter);
  const [alice, bob] = [randomUUID(), randomUUID()];
  const noteId = `note_${randomUUID()}`;
  const created = (
    await chatter.notes.sync({ fanId, clientId: alice, mutations: [upsert(1, noteId, 'likes cats')] })
  ).data;
  const base = created.notes[0]!.version;
  const firstDelete = (
    await chatter.notes.sync({
      fanId,
      clientId: alice,
      cursor: created.cursor,
      mutations: [{ id: 2, op: 'delete', noteId, baseVersion: base }],
    })
  ).data;

  // 29 days later Bob's offline edit and delete of the note arrive together: the edit brings the
  // note back, the delete deletes it again, now.
  app.clock.advance(app.deps.tombstoneTtlMs - 24 * 3600 * 1000);
  const later = await app.caller(seeded.users.chatter);
  const redeleted = (
    await later.notes.sync({
      fanId,
      clientId: bob,
      mutations: [
        upsert(1, noteId, 'likes cats and dogs', base),
        { id: 2, op: 'delete', noteId, baseVersion: base },
      ],
    })
  ).data;
  expect(redeleted.results.map((result) => result.status)).toEqual(['applied', 'applied']);
  const [row] = await app.database.db.select().from(notes).where(eq(notes.id, noteId));
  expect(row!.deletedAt).toEqual(app.clock.now());

  // Two days on, the first deletion is past the horizon, the second is not: the tombstone stays and a
  // client from before the second deletion gets it in its delta.
  app.clock.advance(2 * 24 * 3600 * 1000);
  const after = await app.caller(seeded.users.chatter);
  const delta = (await after.notes.sync({ fanId, cursor: firstDelete.cursor })).data;
  expect(delta).toMatchObject({ reset: false, deletedNoteIds: [noteId] });
});

test('an OnlyFans note deleted in the CRM is not imported again after the tombstone horizon', async () => {
  const fanId = await newFan();
  const chatter = await app.caller(seeded.users.chatter);
  const snapshot = [{ onlyFansNoteId: fanId, content: 'VIP on OnlyFans' }];
  const imported = (await chatter.notes.sync({ fanId, onlyFansNotes: snapshot })).data.notes[0]!;
  await chatter.notes.delete({ fanId, noteId: imported.id });
  app.clock.advance(app.deps.tombstoneTtlMs + 60_000);
  const later = await app.caller(seeded.users.chatter);
  // The first sync past the horizon purges what it may; the one after must still not re-import.
  await later.notes.sync({ fanId, onlyFansNotes: snapshot });
  const synced = (await later.notes.sync({ fanId, onlyFansNotes: snapshot })).data;
  expect(synced.notes).toEqual([]);
});

test('replaying an OnlyFans snapshot request after later edits changes nothing', async () => {
  const fanId = await newFan();
  const chatter = await app.caller(seeded.users.chatter);
  const imported = (
    await chatter.notes.sync({ fanId, onlyFansNotes: [{ onlyFansNoteId: fanId, content: 'VIP' }] })
  ).data.notes[0]!;
  const deletedOnOnlyFans = { fanId, onlyFansNotes: [] };
  await chatter.notes.sync(deletedOnOnlyFans);
  // A teammate brings the note back with new text.
  await chatter.notes.update({ fanId, noteId: imported.id, content: 'VIP, kept by the team' });
  const before = (await chatter.notes.sync({ fanId, force: true })).data.notes;
  app.clock.advance(10_000);
  const replayed = (await chatter.notes.sync(deletedOnOnlyFans)).data;
  expect(replayed.notes).toEqual(before);
});

/**
 * Issue #19 through notes.sync, in either order: OnlyFans lists the fan's note and it is imported; a
 * second client (B) pulls it and edits it offline; a snapshot without the note arrives before or after
 * B's edit; then OnlyFans shows a new note under the same id. Returns every row of the fan as stored.
 */
async function editAndDrop(order: 'drop first' | 'edit first') {
  const fanId = await newFan();
  const onOnlyFans = (content?: string) =>
    content === undefined ? [] : [{ onlyFansNoteId: fanId, content }];
  const a = { caller: await app.caller(seeded.users.chatter), clientId: randomUUID() };
  const b = { caller: await app.caller(seeded.users.manager), clientId: randomUUID() };
  let cursor: string | undefined;
  const snapshot = async (content?: string) => {
    const answer = await a.caller.notes.sync({
      fanId,
      clientId: a.clientId,
      onlyFansNotes: onOnlyFans(content),
      ...(cursor === undefined ? {} : { cursor }),
    });
    cursor = answer.data.cursor;
    return answer;
  };

  const [imported] = (await snapshot('VIP on OnlyFans')).data.notes;
  expect(imported).toMatchObject({ source: 'onlyfans', onlyFansNoteId: fanId });
  const pulled = (await b.caller.notes.sync({ fanId, clientId: b.clientId })).data;
  const edit = () =>
    b.caller.notes.sync({
      fanId,
      clientId: b.clientId,
      cursor: pulled.cursor,
      mutations: [upsert(1, imported!.id, 'VIP, prefers evenings', imported!.version)],
    });
  if (order === 'edit first') await edit();
  const dropped = (await snapshot()).data;
  if (order === 'drop first') {
    expect(dropped.deletedNoteIds).toEqual([imported!.id]);
    const revived = (await edit()).data;
    expect(revived.results).toEqual([expect.objectContaining({ id: 1, status: 'applied' })]);
    expect(revived.notes).toEqual([
      expect.objectContaining({ id: imported!.id, source: 'onlyautomator', onlyFansNoteId: null }),
    ]);
  }
  await snapshot('VIP, new on OnlyFans');
  return { imported: imported!, rows: await storedNotes(fanId) };
}

/** Every row of the fan's notes, tombstones included, as stored. */
async function storedNotes(fanId: string) {
  const { rows } = await app.database.db.transaction(async (tx) => {
    const [fan] = await tx
      .select({ id: fans.id })
      .from(fans)
      .where(and(eq(fans.accountId, seeded.account.id), eq(fans.fanId, fanId)));
    return { rows: await tx.select().from(notes).where(eq(notes.fanRowId, fan!.id)) };
  });
  return rows;
}

test.each(['drop first', 'edit first'] as const)(
  'an OnlyFans note edited in the CRM ends as a CRM note and OnlyFans’ next note is new, %s',
  async (order) => {
    const { imported, rows } = await editAndDrop(order);
    const fanId = imported.onlyFansNoteId!;
    // Both orders: B's text on the note it edited, no longer tied to OnlyFans; OnlyFans' later note
    // a new OnlyFans note beside it, not a conflict copy of it.
    expect(
      rows
        .map(({ id, content, source, onlyFansNoteId, importedContent, conflictOf, deletedAt }) => ({
          edited: id === imported.id,
          content,
          source,
          onlyFansNoteId,
          importedContent,
          conflictOf,
          deleted: deletedAt !== null,
        }))
        .sort((x, y) => Number(y.edited) - Number(x.edited)),
    ).toEqual([
      {
        edited: true,
        content: 'VIP, prefers evenings',
        source: 'onlyautomator',
        onlyFansNoteId: null,
        importedContent: null,
        conflictOf: null,
        deleted: false,
      },
      {
        edited: false,
        content: 'VIP, new on OnlyFans',
        source: 'onlyfans',
        onlyFansNoteId: fanId,
        importedContent: 'VIP, new on OnlyFans',
        conflictOf: null,
        deleted: false,
      },
    ]);
  },
);

test('an OnlyFans note deleted in the CRM and then dropped by OnlyFans lets go of its id and is purged after the horizon', async () => {
  const fanId = await newFan();
  const chatter = await app.caller(seeded.users.chatter);
  const imported = (
    await chatter.notes.sync({ fanId, onlyFansNotes: [{ onlyFansNoteId: fanId, content: 'VIP' }] })
  ).data.notes[0]!;
  const before = (await chatter.notes.sync({ fanId, force: true })).data;
  await chatter.notes.delete({ fanId, noteId: imported.id });
  app.clock.advance(app.deps.tombstoneTtlMs + 60_000);
  const later = await app.caller(seeded.users.chatter);
  // Tied, the old tombstone outlived the horizon; once OnlyFans drops the note it is let go of and
  // purged by the same sync, and a cursor from before it resets.
  await later.notes.sync({ fanId, onlyFansNotes: [] });
  expect(await storedNotes(fanId)).toEqual([]);
  app.clock.advance(60_000);
  expect((await later.notes.sync({ fanId, cursor: before.cursor })).data).toMatchObject({
    reset: true,
    notes: [],
  });
});

/** Notes written straight into the table: `count` notes, `perVersion` to a version, text from `text(i)`. */
async function fillFan(fanId: string, count: number, perVersion: number, text: string, deleted = false) {
  const [fan] = await app.database.db.select().from(fans).where(eq(fans.fanId, fanId));
  // Ids in page order (the 4th group keeps each fan's apart), as any note_<uuid> may be.
  const prefix = `note_00000000-0000-4000-${randomUUID().slice(19, 23)}-`;
  await app.database.db.execute(sql`
    insert into notes (id, fan_row_id, account_id, content, version, content_version, created_at, updated_at, deleted_at)
    select ${prefix} || lpad(i::text, 12, '0'), ${fan!.id}, ${fan!.accountId},
      ${text} || ' ' || i, (i - 1) / ${perVersion} + 1, (i - 1) / ${perVersion} + 1, now(), now(),
      case when ${deleted}::boolean then now() end
    from generate_series(1, ${count}) as i`);
  await app.database.db
    .update(fans)
    .set({ version: Math.ceil(count / perVersion) })
    .where(eq(fans.id, fan!.id));
}

/** Every page of a fan from `cursor` on, through notes.sync, until `more` is false. */
async function allPages(fanId: string, cursor?: string) {
  const chatter = await app.caller(seeded.users.chatter);
  const pages = [];
  for (;;) {
    const page = (await chatter.notes.sync({ fanId, ...(cursor ? { cursor } : {}) })).data;
    pages.push(page);
    cursor = page.cursor;
    if (!page.more) return pages;
    expect(pages.length).toBeLessThan(100);
  }
}

const pageBytes = (notes: { content: string }[]) =>
  notes.reduce((sum, note) => sum + Buffer.byteLength(JSON.stringify(note)), 0);

test('a fan with more notes than a page is sent in pages of at most 1 MiB: more, then the rest from the cursor', async () => {
  const fanId = await newFan();
  const total = 5_250;
  // Ten notes per version, as ten-mutation pushes would leave them.
  await fillFan(fanId, total, 10, 'note');
  const pages = await allPages(fanId);
  expect(pages.length).toBeGreaterThan(1);
  expect(pages[0]).toMatchObject({ reset: true, more: true });
  for (const page of pages.slice(1)) expect(page.reset).toBe(false);
  for (const page of pages) expect(pageBytes(page.notes)).toBeLessThanOrEqual(MAX_SYNC_PAGE_BYTES);
  const ids = pages.flatMap((page) => page.notes.map((note) => note.id));
  expect(new Set(ids).size).toBe(total);
  expect(ids).toHaveLength(total);
});

test('regression: a fan of long notes made one answer of tens of MB; pages stay under 1 MiB, and emoji count in bytes', async () => {
  const fanId = await newFan();
  // 600 notes of 5,000 emoji: 12 MB of text, a hundred notes to a version as pushes leave them.
  await fillFan(fanId, 600, 100, '💪'.repeat(4_990));
  const pages = await allPages(fanId);
  for (const page of pages) {
    expect(page.noteCount).toBeGreaterThan(0);
    expect(pageBytes(page.notes)).toBeLessThanOrEqual(MAX_SYNC_PAGE_BYTES);
  }
  // A version of 100 such notes is 2 MB: pages are cut inside versions, and none is lost or repeated.
  expect(pages.length).toBeGreaterThanOrEqual(12);
  const ids = pages.flatMap((page) => page.notes.map((note) => note.id));
  expect(new Set(ids).size).toBe(600);
  expect(ids).toHaveLength(600);
});

test('a page cut inside a version goes on from there through a push too, and ends at the fan version', async () => {
  const fanId = await newFan();
  await fillFan(fanId, 250, 250, 'x'.repeat(5_000));
  const chatter = await app.caller(seeded.users.chatter);
  const first = (await chatter.notes.sync({ fanId })).data;
  expect(first.more).toBe(true);
  const seen = new Set(first.notes.map((note) => note.id));
  // A push carrying the cut cursor: its answer starts after the cut and holds the new note.
  const pushed = (
    await chatter.notes.sync({
      fanId,
      clientId: randomUUID(),
      cursor: first.cursor,
      mutations: [upsert(1, `note_${randomUUID()}`, 'Written during a paged read')],
    })
  ).data;
  for (const note of pushed.notes) {
    expect(seen.has(note.id)).toBe(false);
    seen.add(note.id);
  }
  const rest = pushed.more ? await allPages(fanId, pushed.cursor) : [];
  for (const note of rest.flatMap((page) => page.notes)) {
    expect(seen.has(note.id)).toBe(false);
    seen.add(note.id);
  }
  expect(seen.size).toBe(251);
  const last = rest.at(-1) ?? pushed;
  expect(last.cursor).toBe('v1.2');
});

test('a delta of more than 5,000 deletions is cut at 5,000 notes', async () => {
  const fanId = await newFan();
  await fillFan(fanId, 5_100, 50, 'gone', true);
  const chatter = await app.caller(seeded.users.chatter);
  const first = (await chatter.notes.sync({ fanId, cursor: 'v1.0' })).data;
  expect(first).toMatchObject({ reset: false, more: true, noteCount: 0 });
  expect(first.deletedNoteIds).toHaveLength(5_000);
  const second = (await chatter.notes.sync({ fanId, cursor: first.cursor })).data;
  expect(second).toMatchObject({ more: false });
  expect(new Set([...first.deletedNoteIds, ...second.deletedNoteIds]).size).toBe(5_100);
});

describe('a push refused for its fan never wedges the client (issue 14.1)', () => {
  /** The refusal a caller gets, with what it recorded. */
  async function refusedPush(
    userId: string,
    input: Parameters<Awaited<ReturnType<typeof app.caller>>['notes']['sync']>[0],
  ) {
    const caller = await app.caller(userId);
    const error = await caller.notes.sync(input).then(
      () => {
        throw new Error('expected a refusal');
      },
      (thrown: unknown) => toApiError(thrown),
    );
    return error;
  }

  test("regression: a viewer's refused push held back the client's edits of every other fan; now its ids are recorded as refused and the others flow", async () => {
    const writable = await newFan();
    // The chatter is a viewer on another account holding `readOnly`'s twin.
    const other = await seedAccount(app, '777001');
    await app.database.db.insert(memberships).values({
      accountId: other.account.id,
      userId: seeded.users.chatter,
      role: 'viewer',
      createdAt: app.clock.now(),
      updatedAt: app.clock.now(),
    });
    const clientId = randomUUID();
    const refused = await refusedPush(seeded.users.chatter, {
      fanId: '777001',
      clientId,
      mutations: [
        upsert(1, `note_${randomUUID()}`, 'not allowed'),
        upsert(2, `note_${randomUUID()}`, 'nor this'),
      ],
    });
    expect(refused).toMatchObject({
      apiCode: 'permission_denied',
      httpStatus: 403,
      details: { lastMutationId: 2, refusedMutationIds: [1, 2] },
    });
    // The next ids, for a fan the chatter may write to, are applied: no gap, no wait.
    const chatter = await app.caller(seeded.users.chatter);
    const next = (
      await chatter.notes.sync({
        fanId: writable,
        clientId,
        mutations: [upsert(3, `note_${randomUUID()}`, 'fine')],
      })
    ).data;
    expect(next).toMatchObject({ lastMutationId: 3, results: [{ id: 3, status: 'applied' }] });
    // Sent again (its answer lost): already processed, so lastMutationId stays, but it is still
    // reported as refused, never as saved.
    const again = await refusedPush(seeded.users.chatter, {
      fanId: '777001',
      clientId,
      mutations: [upsert(1, `note_${randomUUID()}`, 'not allowed')],
    });
    expect(again.details).toMatchObject({ lastMutationId: 3, refusedMutationIds: [1] });
    // Nothing was written to the fan it was refused on.
    const [row] = await app.database.db.select().from(fans).where(eq(fans.id, other.fan.id));
    expect(row!.version).toBe(other.fan.version);
  });

  test('an unknown fan and a fan of a foreign account refuse a push alike, both recorded', async () => {
    // 777002 is a fan of an account the chatter is not a member of; 777099 is nobody's.
    await seedAccount(app, '777002');
    const answers = [];
    for (const fanId of ['777002', '777099']) {
      const error = await refusedPush(seeded.users.chatter, {
        fanId,
        clientId: randomUUID(),
        mutations: [upsert(1, `note_${randomUUID()}`, 'x')],
      });
      answers.push({ code: error.apiCode, message: error.message, details: error.details });
    }
    expect(answers[0]).toEqual(answers[1]);
    expect(answers[0]).toMatchObject({
      code: 'resource_not_found',
      details: { lastMutationId: 1, refusedMutationIds: [1] },
    });
  });

  test("another user's client id is refused as such, and nothing is recorded for it", async () => {
    const clientId = randomUUID();
    const owner = await app.caller(seeded.users.owner);
    await owner.notes.sync({
      fanId: await newFan(),
      clientId,
      mutations: [upsert(1, `note_${randomUUID()}`, 'mine')],
    });
    const error = await refusedPush(seeded.users.viewer, {
      fanId: '899',
      clientId,
      mutations: [upsert(2, `note_${randomUUID()}`, 'x')],
    });
    expect(error).toMatchObject({
      apiCode: 'permission_denied',
      message: 'This clientId belongs to another user.',
    });
    expect(error.details).toBeUndefined();
    const [client] = await app.database.db
      .select()
      .from(syncClients)
      .where(eq(syncClients.clientId, clientId));
    expect(client!.lastMutationId).toBe(1);
  });

  test('a refusal without a client id is the plain documented error', async () => {
    const error = await refusedPush(seeded.users.chatter, { fanId: '777099', onlyFansNotes: [] });
    expect(error).toMatchObject({ apiCode: 'resource_not_found', message: 'Fan not found.' });
    expect(error.details).toBeUndefined();
  });
});
