import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fans } from '@fannotes/db';
import { defaultThrottlePolicy, planSync } from '@fannotes/sync-core';
import { eq, sql } from 'drizzle-orm';
import { holdLock } from '../hardening/lib/database.ts';
import { leaseKey } from '../src/services/lease.ts';
import { createTestApp, rowCounts, seedAccount, type TestApp } from './harness.ts';

// The documented contract of POST /api/v2/sync-notes, over real HTTP.

let app: TestApp;
let base: string;
let seeded: Awaited<ReturnType<typeof seedAccount>>;

beforeAll(async () => {
  app = await createTestApp();
  base = await app.listen();
  seeded = await seedAccount(app);
  const owner = await app.caller(seeded.users.owner);
  await owner.notes.update({ fanId: '12345', content: 'Likes fitness content.', type: 'preferences' });
  await owner.notes.update({ fanId: '12345', content: 'Pinned: VIP', isPinned: true, color: '#00aff0' });
});
afterAll(() => app?.close());

async function sync(body: unknown, userId = seeded.users.chatter) {
  const response = await fetch(`${base}/api/v2/sync-notes`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await app.token(userId)}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

describe('POST /api/v2/sync-notes', () => {
  test('a plain {fanId} call returns every documented field with its documented type', async () => {
    app.clock.advance(60_000);
    const { status, body } = await sync({ fanId: '12345' });
    expect(status).toBe(200);
    expect(body.status).toBe('success');
    expect(body.data.synchronized).toBe(true);
    expect(body.data.noteCount).toBe(2);
    expect(body.data.notes).toHaveLength(2);
    expect(new Date(body.data.timestamp).toISOString()).toBe(body.data.timestamp);
    for (const note of body.data.notes) {
      expect(note).toMatchObject({
        id: expect.stringMatching(/^note_[0-9a-f-]{36}$/),
        fanId: '12345',
        content: expect.any(String),
        type: expect.stringMatching(/^(personal|preferences|payment|content|other)$/),
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
    }
    // Pinned first.
    expect(body.data.notes[0]).toMatchObject({ content: 'Pinned: VIP', isPinned: true, color: '#00AFF0' });
  });

  test('a second call inside the interval is a throttled read of the stored notes', async () => {
    app.clock.advance(60_000);
    expect((await sync({ fanId: '12345' })).body.data.synchronized).toBe(true);
    app.clock.advance(1_000);
    const { status, body } = await sync({ fanId: '12345' });
    expect(status).toBe(200);
    expect(body.data).toMatchObject({ synchronized: false, throttled: true, noteCount: 2 });
    expect(Date.parse(body.data.nextSyncAt)).toBe(app.clock.now().getTime() + 29_000);
  });

  test("a throttled read with a clientId answers that client's last mutation id (another user's client: null)", async () => {
    const other = await seedAccount(app, '424242');
    const clientId = randomUUID();
    const upsert = (id: number) => ({
      id,
      op: 'upsert',
      noteId: `note_${randomUUID()}`,
      baseVersion: 0,
      note: { content: `note ${id}` },
    });
    app.clock.advance(60_000);
    const pushed = await sync(
      { fanId: '424242', clientId, mutations: [upsert(1), upsert(2)] },
      other.users.chatter,
    );
    expect(pushed.body.data).toMatchObject({ synchronized: true, lastMutationId: 2 });
    app.clock.advance(1_000);
    const pull = { fanId: '424242', cursor: pushed.body.data.cursor };
    const read = await sync({ ...pull, clientId }, other.users.chatter);
    expect(read.body.data).toMatchObject({ throttled: true, lastMutationId: 2, notes: [], reset: false });
    // A client the server has not met yet has processed nothing.
    expect((await sync({ ...pull, clientId: randomUUID() }, other.users.chatter)).body.data).toMatchObject({
      throttled: true,
      lastMutationId: 0,
    });
    expect((await sync(pull, other.users.chatter)).body.data).toMatchObject({ lastMutationId: null });
    expect((await sync({ ...pull, clientId }, other.users.owner)).body.data).toMatchObject({
      throttled: true,
      lastMutationId: null,
    });
    // Due, the same statement syncs the fan: not with another user's client id (403, and the fan is not
    // stamped: it is still due), then with the client's own.
    app.clock.advance(60_000);
    const foreign = await sync({ ...pull, clientId }, other.users.owner);
    expect(foreign.status).toBe(403);
    expect(foreign.body.error).toMatchObject({
      code: 'permission_denied',
      message: 'This clientId belongs to another user.',
    });
    expect((await sync({ ...pull, clientId }, other.users.chatter)).body.data).toMatchObject({
      synchronized: true,
      lastMutationId: 2,
    });
  });

  test("a sync without changes is full exactly when sync-core's plan says so, the stamp in the past, near or ahead (skew)", async () => {
    // The statement decides in SQL whether it syncs (readOrPlan); sync-core's planSync must agree, at
    // every edge of the interval, or a chatter would be told a fan is synced when it was not.
    const interval = defaultThrottlePolicy.minIntervalMs;
    const offsets = [
      null,
      -interval - 1,
      -interval,
      -interval + 1,
      -1,
      0,
      1,
      interval,
      interval + 1,
      10 * interval,
    ];
    const fan = (await app.database.db.select().from(fans).where(eq(fans.fanId, '12345')))[0]!;
    for (const offset of offsets) {
      app.clock.advance(60_000);
      const now = app.clock.now().getTime();
      const stamp = offset === null ? null : new Date(now + offset);
      await app.database.db.update(fans).set({ lastFullSyncAt: stamp }).where(eq(fans.id, fan.id));
      const plan = planSync({
        state: { lastFullSyncAt: stamp?.getTime() ?? null, lastForcedSyncAt: null },
        force: false,
        hasChanges: false,
        now,
        policy: defaultThrottlePolicy,
      });
      const { body } = await sync({ fanId: '12345' });
      expect({ offset, synchronized: body.data.synchronized }).toEqual({
        offset,
        synchronized: plan.action === 'full',
      });
      const [after] = await app.database.db.select().from(fans).where(eq(fans.id, fan.id));
      expect(after!.lastFullSyncAt?.getTime() ?? null).toBe(
        plan.action === 'full' ? now : (stamp?.getTime() ?? null),
      );
    }
  });

  test('{force: true} bypasses the interval, but forcing again faster than the floor is 429 with Retry-After', async () => {
    app.clock.advance(60_000);
    await sync({ fanId: '12345' });
    app.clock.advance(1_000);
    const forced = await sync({ fanId: '12345', force: true });
    expect(forced.body.data).toMatchObject({ synchronized: true, throttled: false });
    app.clock.advance(2_000);
    const again = await sync({ fanId: '12345', force: true });
    expect(again.status).toBe(429);
    expect(again.headers.get('retry-after')).toBe('3');
    expect(again.body).toMatchObject({ status: 'error', error: { code: 'rate_limit_exceeded' } });
    app.clock.advance(3_000);
    expect((await sync({ fanId: '12345', force: true })).status).toBe(200);
  });

  test('a viewer can read but a viewer with mutations is refused', async () => {
    app.clock.advance(60_000);
    expect((await sync({ fanId: '12345' }, seeded.users.viewer)).status).toBe(200);
    const write = await sync(
      {
        fanId: '12345',
        clientId: randomUUID(),
        mutations: [
          { id: 1, op: 'upsert', noteId: `note_${randomUUID()}`, baseVersion: 0, note: { content: 'x' } },
        ],
      },
      seeded.users.viewer,
    );
    expect(write.status).toBe(403);
    expect(write.body.error.code).toBe('permission_denied');
  });

  // A push reads the notes it touches in its first statement, from a snapshot taken before it waits
  // for the fan row's lock (sync-statements.ts lockForPush). PGlite has no concurrent sessions.
  test.skipIf(!process.env.DATABASE_URL)(
    'a push that waited for a teammate’s edit to commit decides on the edited note: a conflict copy, not an overwrite',
    async () => {
      const owner = await app.caller(seeded.users.owner);
      const note = (await owner.notes.update({ fanId: '12345', content: 'Original text.' })).data;
      const teammate = await holdLock(
        app.database.url!,
        sql`with bumped as (
          update fans set version = version + 1, updated_at = now() where id = ${seeded.fan.id} returning version
        ) update notes set content = 'Teammate text.', version = (select version from bumped),
            content_version = (select version from bumped), content_client_id = null
          where id = ${note.id}`,
      );
      const push = sync({
        fanId: '12345',
        clientId: randomUUID(),
        mutations: [
          { id: 1, op: 'upsert', noteId: note.id, baseVersion: note.version, note: { content: 'My text.' } },
        ],
      });
      await expect
        .poll(async () => {
          const result: unknown = await app.database.db.execute(
            sql`select count(*)::int as n from pg_stat_activity
                where datname = current_database() and wait_event_type = 'Lock'`,
          );
          return (result as { n: number }[])[0]!.n;
        })
        .toBe(1);
      await teammate.release();
      const { status, body } = await push;
      expect(status).toBe(200);
      expect(body.data.results).toEqual([
        expect.objectContaining({ id: 1, status: 'conflict', conflictNoteId: expect.any(String) }),
      ]);
      const texts = Object.fromEntries(
        body.data.notes.map((n: { id: string; content: string }) => [n.id, n.content]),
      );
      expect(texts[note.id]).toBe('Teammate text.');
      expect(texts[body.data.results[0].conflictNoteId]).toBe('My text.');
    },
  );

  // PGlite is one session: no other transaction can hold the lease there.
  test.skipIf(!process.env.DATABASE_URL)(
    'while another full sync of the fan holds its lease, a forced sync and a push are 409 sync_in_progress with Retry-After, a plain reader gets the stored notes, and nothing changes; the lease ends with its holder, also when it dies',
    async () => {
      app.clock.advance(60_000);
      const holdLease = () =>
        holdLock(app.database.url!, sql`select pg_advisory_xact_lock(${leaseKey(sql`${seeded.fan.id}`)})`);
      const push = {
        fanId: '12345',
        clientId: randomUUID(),
        mutations: [
          {
            id: 1,
            op: 'upsert',
            noteId: `note_${randomUUID()}`,
            baseVersion: 0,
            note: { content: 'Blocked' },
          },
        ],
      };
      const fanState = async () =>
        (await app.database.db.select().from(fans).where(eq(fans.id, seeded.fan.id)))[0];
      const before = { counts: await rowCounts(app), fan: await fanState() };

      const holder = await holdLease();
      for (const body of [{ fanId: '12345', force: true }, push]) {
        const blocked = await sync(body);
        expect(blocked.status).toBe(409);
        expect(blocked.body.error.code).toBe('sync_in_progress');
        expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      }
      // Regression: a plain reader racing a full sync for the lease got 409 too, for nothing it could fix.
      const reader = await sync({ fanId: '12345' });
      expect(reader.status).toBe(200);
      expect(reader.body.data).toMatchObject({ synchronized: false, throttled: true });
      expect(reader.body.data.notes.map((n: { content: string }) => n.content)).toContain(
        'Likes fitness content.',
      );
      expect({ counts: await rowCounts(app), fan: await fanState() }).toEqual(before);
      await holder.release();
      const done = await sync(push);
      expect(done.status).toBe(200);
      expect(done.body.data.results).toEqual([expect.objectContaining({ status: 'applied' })]);

      // The holder's process crashed: its connection is gone, and the lease with it, at once.
      app.clock.advance(60_000);
      const crashed = await holdLease();
      await app.database.db.execute(sql`select pg_terminate_backend(${crashed.pid})`);
      await expect.poll(async () => (await sync({ fanId: '12345' })).status).toBe(200);
      await crashed.release();
    },
  );
  // Two processes race only on real PostgreSQL; on PGlite the requests run one after another.
  test.skipIf(!process.env.DATABASE_URL)(
    'regression: 40 simultaneous forced syncs of one fan run one forced full sync; the rest are 429 or 409, never a second one',
    async () => {
      app.clock.advance(60_000);
      const before = (await app.database.db.select().from(fans).where(eq(fans.id, seeded.fan.id)))[0]!;
      const replies = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          sync({ fanId: '12345', force: true }, Object.values(seeded.users)[i % 4]),
        ),
      );
      const statuses = replies.map((reply) => reply.status);
      expect(statuses.every((status) => [200, 409, 429].includes(status))).toBe(true);
      const forced = replies.filter((reply) => reply.status === 200);
      expect(forced.map((reply) => reply.body.data.synchronized)).toEqual([true]);
      for (const refused of replies.filter((reply) => reply.status !== 200)) {
        expect(['sync_in_progress', 'rate_limit_exceeded']).toContain(refused.body.error.code);
        expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      }
      const after = (await app.database.db.select().from(fans).where(eq(fans.id, seeded.fan.id)))[0]!;
      expect(after.lastForcedSyncAt).not.toEqual(before.lastForcedSyncAt);
      expect(after.lastForcedSyncAt).toEqual(app.clock.now());
    },
  );

  test.skipIf(!process.env.DATABASE_URL)(
    'regression: ten plain readers of a fan whose interval just lapsed all get its notes; one of them syncs, none is 409',
    async () => {
      for (let round = 0; round < 5; round++) {
        app.clock.advance(60_000);
        const replies = await Promise.all(
          Array.from({ length: 10 }, (_, i) => sync({ fanId: '12345' }, Object.values(seeded.users)[i % 4])),
        );
        expect(replies.map((reply) => reply.status)).toEqual(Array(10).fill(200));
        for (const reply of replies) expect(reply.body.data.noteCount).toBeGreaterThanOrEqual(2);
        expect(replies.filter((reply) => reply.body.data.synchronized).length).toBe(1);
      }
    },
  );
});
