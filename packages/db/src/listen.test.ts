import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openPostgres } from './open.ts';
import { listenFanChanges, type FanChangeListener, type FanChangeNotification } from './listen.ts';
import { createFanChangeNotifier, type FanChangeNotifier } from './notify.ts';
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

const change = (fan: { accountId: string }, version: number) => ({
  accountId: fan.accountId,
  fanId: '777',
  version,
});

describe('fan change pokes: sent by the API after its commit, heard by one LISTEN', () => {
  let database: TestDatabase;
  let fan: Awaited<ReturnType<typeof seedFan>>;
  let listener: FanChangeListener;
  let notifier: FanChangeNotifier;
  const heard = recorder();

  beforeAll(async () => {
    database = await createTestDatabase();
    fan = await seedFan(database);
    listener = await listenFanChanges(database, heard.handlers, { probeIntervalMs: 0 });
    notifier = createFanChangeNotifier(database);
  }, 60_000);
  afterAll(async () => {
    await notifier?.close();
    await listener?.close();
    await database?.close();
  });

  test('an announced change is heard once, as { accountId, fanId, version }', async () => {
    await notifier.announce([change(fan, 1)]);
    await heard.waitFor(1);
    expect(heard.heard).toEqual([change(fan, 1)]);
  });

  test('changes announced while one is being sent go out together, all heard, in order', async () => {
    const versions = Array.from({ length: 120 }, (_, i) => i + 2);
    await Promise.all(versions.map((version) => notifier.announce([change(fan, version)])));
    await heard.waitFor(1 + versions.length);
    expect(heard.heard.slice(1)).toEqual(versions.map((version) => change(fan, version)));
  });

  test("many changes at once are cut into notifications under PostgreSQL's 8,000 bytes", async () => {
    const before = heard.heard.length;
    const many = Array.from({ length: 500 }, (_, i) => change(fan, 1_000 + i));
    await notifier.announce(many);
    await heard.waitFor(before + many.length);
    expect(heard.heard.slice(before)).toEqual(many);
  });

  test('a resync is heard as one', async () => {
    const before = heard.heard.length;
    await notifier.resync('an API process started');
    await heard.waitFor(before + 1);
    expect(heard.heard.slice(before)).toEqual([{ resync: 'an API process started' }]);
  });

  test('pokes that could not be sent are followed by a resync with the next ones that go through', async () => {
    const errors: Error[] = [];
    let failing = true;
    const flaky = {
      db: new Proxy(database.db, {
        get: (target, key, receiver) =>
          key === 'execute' && failing
            ? () => Promise.reject(new Error('connection lost'))
            : (Reflect.get(target, key, receiver) as unknown),
      }),
    };
    const sender = createFanChangeNotifier(flaky, { onError: (error) => errors.push(error) });
    const before = heard.heard.length;
    await sender.announce([change(fan, 5_000)]); // resolves: the write it announces has happened
    expect(errors.map((error) => error.message)).toEqual(['connection lost']);
    failing = false;
    await sender.announce([change(fan, 5_001)]);
    await heard.waitFor(before + 2);
    expect(heard.heard.slice(before)).toEqual([{ resync: 'pokes could not be sent' }, change(fan, 5_001)]);
    await sender.close();
  });

  test('no notification is sent by a version bump itself (the write transaction takes no notify lock)', async () => {
    const before = heard.heard.length;
    await database.db
      .update(fans)
      .set({ version: sql`${fans.version} + 1` })
      .where(eq(fans.id, fan.id));
    await notifier.announce([change(fan, 9_999)]); // the sync point
    await heard.waitFor(before + 1);
    expect(heard.heard.slice(before)).toEqual([change(fan, 9_999)]);
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
    const listener = await listenFanChanges(other, heard.handlers, { probeIntervalMs: 0, peerCheckMs: 0 });
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
      await createFanChangeNotifier(other).announce([change(fan, 1)]);
      await heard.waitFor(2);
      expect(heard.heard[1]).toMatchObject({ fanId: '777' });
    } finally {
      await listener.close();
      await other.close();
    }
  });
});

describe.skipIf(!serverUrl)('a process that stops listening (killed between a write and its poke)', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  }, 60_000);
  afterAll(async () => {
    await database?.close();
  });

  test("the other processes' listeners say resync once it is gone", async () => {
    const peer = await openPostgres({ url: database.url!, migrate: false });
    const heard = recorder();
    const watching = await listenFanChanges(database, heard.handlers, {
      probeIntervalMs: 0,
      peerCheckMs: 50,
    });
    try {
      const peerListener = await listenFanChanges(
        peer,
        { onChange: () => {}, onResync: () => {} },
        {
          probeIntervalMs: 0,
          peerCheckMs: 0,
        },
      );
      // Both listeners seen at least once before the peer goes.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(heard.heard).toEqual([]);
      await peerListener.close();
      await peer.close();
      await heard.waitFor(1, 5_000);
      expect(heard.heard).toEqual([{ resync: 'a listener of another process is gone' }]);
    } finally {
      await watching.close();
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
