import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openPostgres } from './open.ts';
import { listenFanChanges, type FanChangeListener, type FanChangeNotification } from './listen.ts';
import { accounts, fans } from './schema/index.ts';
import { createTestDatabase, type TestDatabase } from './testing.ts';

/** What a listener heard, in order, with a way to wait for the next one (bounded: a failure, not a sleep). */
function recorder() {
  const heard: (FanChangeNotification | { resync: string })[] = [];
  let wake: (() => void) | undefined;
  const push = (item: FanChangeNotification | { resync: string }) => {
    heard.push(item);
    wake?.();
  };
  return {
    heard,
    handlers: {
      onChange: (change: FanChangeNotification) => push(change),
      onResync: (reason: string) => push({ resync: reason }),
    },
    async waitFor(count: number, timeoutMs = 10_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (heard.length < count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`heard ${heard.length} of ${count}: ${JSON.stringify(heard)}`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, left).unref();
        });
      }
    },
  };
}

async function seedFan(database: TestDatabase) {
  const now = new Date();
  const [account] = await database.db
    .insert(accounts)
    .values({ onlyFansUserId: '4242', username: 'creator', createdBy: randomUUID(), createdAt: now })
    .returning();
  const [fan] = await database.db
    .insert(fans)
    .values({ accountId: account!.id, fanId: '777', createdAt: now, updatedAt: now })
    .returning();
  return fan!;
}

const bump = (database: TestDatabase, fanId: string) =>
  database.db
    .update(fans)
    .set({ version: sql`${fans.version} + 1` })
    .where(eq(fans.id, fanId));

describe('fan change notifications (trigger fans_notify_change, one LISTEN)', () => {
  let database: TestDatabase;
  let fan: Awaited<ReturnType<typeof seedFan>>;
  let listener: FanChangeListener;
  const heard = recorder();

  beforeAll(async () => {
    database = await createTestDatabase();
    fan = await seedFan(database);
    listener = await listenFanChanges(database, heard.handlers, { probeIntervalMs: 0 });
  }, 60_000);
  afterAll(async () => {
    await listener?.close();
    await database?.close();
  });

  test('a committed version bump is heard once, as { accountId, fanId, version }', async () => {
    await bump(database, fan.id);
    await heard.waitFor(1);
    expect(heard.heard).toEqual([{ accountId: fan.accountId, fanId: '777', version: 1 }]);
  });

  test('a rolled back bump, and an update that leaves the version alone, are never heard', async () => {
    const rollback = new Error('rolled back');
    await expect(
      database.db.transaction(async (tx) => {
        await tx
          .update(fans)
          .set({ version: sql`${fans.version} + 1` })
          .where(eq(fans.id, fan.id));
        throw rollback;
      }),
    ).rejects.toBe(rollback);
    await database.db.update(fans).set({ username: 'renamed' }).where(eq(fans.id, fan.id));
    await bump(database, fan.id); // the sync point: the next thing heard must be this one
    await heard.waitFor(2);
    expect(heard.heard.slice(1)).toEqual([{ accountId: fan.accountId, fanId: '777', version: 2 }]);
  });

  test('a transaction is heard only once it commits', async () => {
    await database.db.transaction(async (tx) => {
      await tx
        .update(fans)
        .set({ version: sql`${fans.version} + 1` })
        .where(eq(fans.id, fan.id));
      // Read back inside the transaction: on PGlite the listener shares the session, so anything
      // delivered before COMMIT would already have been recorded here.
      await tx.execute(sql`select 1`);
      expect(heard.heard).toHaveLength(2);
    });
    await heard.waitFor(3);
    expect(heard.heard[2]).toEqual({ accountId: fan.accountId, fanId: '777', version: 3 });
  });
});

const serverUrl = process.env.DATABASE_URL;

describe.skipIf(!serverUrl)('fan change notifications across PostgreSQL connections', () => {
  let database: TestDatabase;
  let fan: Awaited<ReturnType<typeof seedFan>>;

  beforeAll(async () => {
    database = await createTestDatabase();
    fan = await seedFan(database);
  }, 60_000);
  afterAll(async () => {
    await database?.close();
  });

  test('a listener whose connection is killed comes back, says resync, and hears later bumps', async () => {
    const other = await openPostgres({ url: database.url!, migrate: false });
    const heard = recorder();
    const listener = await listenFanChanges(other, heard.handlers, { probeIntervalMs: 0 });
    try {
      const admin = postgres(database.url!, { max: 1, onnotice: () => {} });
      try {
        const killed = await admin`
          select pg_terminate_backend(pid) as killed from pg_stat_activity
          where datname = current_database() and query ilike 'listen%'`;
        expect(killed.map((row) => row.killed)).toEqual([true]);
      } finally {
        await admin.end();
      }
      await heard.waitFor(1);
      expect(heard.heard[0]).toEqual({ resync: 'listener reconnected' });
      await bump(database, fan.id);
      await heard.waitFor(2);
      expect(heard.heard[1]).toMatchObject({ fanId: '777' });
    } finally {
      await listener.close();
      await other.close();
    }
  });
});

describe('a listener that does not hear its own probes', () => {
  // Probes sent through one database and listened for on another never come back: the same silence as a
  // listening connection cut off while the pool still works.
  let sending: TestDatabase;
  let listening: TestDatabase;

  // PGlite start-up is CPU-bound: slow when other suites run on the same 2 cores.
  beforeAll(async () => {
    [sending, listening] = await Promise.all([
      createTestDatabase({ url: undefined }),
      createTestDatabase({ url: undefined }),
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([sending?.close(), listening?.close()]);
  });

  test('asks for a resync every probe interval', async () => {
    const heard = recorder();
    const listener = await listenFanChanges({ ...sending, listen: listening.listen }, heard.handlers, {
      probeIntervalMs: 50,
    });
    try {
      await heard.waitFor(2);
      expect(heard.heard.slice(0, 2)).toEqual([{ resync: 'listener silent' }, { resync: 'listener silent' }]);
    } finally {
      await listener.close();
    }
  });
});
