import { randomUUID } from 'node:crypto';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { eq, sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { openPostgres, type DatabaseHandle } from './open.ts';
import { pipelinedTransaction } from './pipelined-transaction.ts';
import { accounts } from './schema/index.ts';
import { createTestDatabase, type TestDatabase } from './testing.ts';

// pipelinedTransaction: one transaction whatever happens (all of it committed, or none), on PGlite and
// on PostgreSQL; on PostgreSQL its BEGIN and COMMIT ride with its first and last statements, checked
// on the wire, and a connection lost in the middle costs the pool nothing.

const serverUrl = process.env.DATABASE_URL;

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase({ maxConnections: 1 });
}, 60_000);
afterAll(() => database?.close());

const account = (username: string) => ({
  onlyFansUserId: String(Math.floor(Math.random() * 1e12)),
  username,
  createdBy: randomUUID(),
  createdAt: new Date(),
});

async function usernames(handle: DatabaseHandle, prefix: string): Promise<string[]> {
  const rows = await handle.db.select({ username: accounts.username }).from(accounts);
  return rows
    .map((row) => row.username)
    .filter((name) => name.startsWith(prefix))
    .sort();
}

test('commits every statement, the last one included, and makes the result of its rows', async () => {
  const prefix = `ok_${randomUUID().slice(0, 8)}`;
  const result = await pipelinedTransaction(database.db, async (tx) => {
    await tx.insert(accounts).values(account(`${prefix}_first`));
    return {
      last: sql`insert into ${accounts} (only_fans_user_id, username, created_by, created_at)
        values (${`9${Date.now()}`}, ${`${prefix}_last`}, ${randomUUID()}, now()) returning username`,
      finish: (rows) => rows.map((row) => row.username),
    };
  });
  expect(result).toEqual([`${prefix}_last`]);
  expect(await usernames(database, prefix)).toEqual([`${prefix}_first`, `${prefix}_last`]);
});

test('the last statement may come as text with its parameters bound (a statement made once per shape)', async () => {
  const prefix = `bound_${randomUUID().slice(0, 8)}`;
  const result = await pipelinedTransaction(database.db, async (tx) => {
    await tx.insert(accounts).values(account(`${prefix}_first`));
    return {
      last: {
        sql: `insert into accounts (only_fans_user_id, username, created_by, created_at)
          values ($1, $2, $3, now()) returning username`,
        params: [`8${Date.now()}`, `${prefix}_last`, randomUUID()],
      },
      finish: (rows) => rows.map((row) => row.username),
    };
  });
  expect(result).toEqual([`${prefix}_last`]);
  expect(await usernames(database, prefix)).toEqual([`${prefix}_first`, `${prefix}_last`]);
});

test('when the work throws, or the last statement fails, nothing is committed and the error is thrown', async () => {
  const prefix = `ko_${randomUUID().slice(0, 8)}`;
  await expect(
    pipelinedTransaction(database.db, async (tx) => {
      await tx.insert(accounts).values(account(`${prefix}_thrown`));
      throw new Error('the work gave up');
    }),
  ).rejects.toThrow('the work gave up');
  await expect(
    pipelinedTransaction(database.db, async (tx) => {
      await tx.insert(accounts).values(account(`${prefix}_before_failure`));
      return { last: sql`select 1 / (select 0) as boom`, finish: () => 'never' };
    }),
  ).rejects.toSatisfy((error) => /division by zero/.test(String((error as Error).cause)));
  expect(await usernames(database, prefix)).toEqual([]);
  // The connection (the pool's only one) is back outside any transaction: this insert stays.
  await database.db.insert(accounts).values(account(`${prefix}_after`));
  const elsewhere = await createTestDatabaseView();
  expect(await usernames(elsewhere ?? database, prefix)).toEqual([`${prefix}_after`]);
  await elsewhere?.close();
});

/** A second handle on the same PostgreSQL database (its own connection), or null on PGlite. */
async function createTestDatabaseView(): Promise<DatabaseHandle | null> {
  return database.url ? openPostgres({ url: database.url, maxConnections: 1, migrate: false }) : null;
}

describe.skipIf(!serverUrl)('on PostgreSQL', () => {
  /**
   * A TCP proxy to the test database that can hold back everything the server sends: what the client
   * writes while its answers are held back, it wrote without waiting for them.
   */
  let proxy: Server;
  let proxied: DatabaseHandle;
  let held = false;
  let sentByClient = '';
  const heldBack: { socket: Socket; data: Buffer }[] = [];
  const release = () => {
    held = false;
    for (const { socket, data } of heldBack.splice(0)) socket.write(data);
  };

  beforeAll(async () => {
    const target = new URL(database.url!);
    proxy = createServer((client) => {
      const server = createConnection(Number(target.port || 5432), target.hostname);
      client.on('data', (data) => {
        sentByClient += data.toString('latin1');
        server.write(data);
      });
      server.on('data', (data) => (held ? heldBack.push({ socket: client, data }) : client.write(data)));
      client.on('close', () => server.destroy());
      server.on('close', () => client.destroy());
      client.on('error', () => server.destroy());
      server.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const url = new URL(database.url!);
    url.host = `127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    proxied = await openPostgres({ url: url.toString(), maxConnections: 1, migrate: false });
  });
  afterAll(async () => {
    release();
    await proxied?.close();
    await new Promise((resolve) => proxy?.close(resolve));
  });

  test('BEGIN goes out with the first statement and COMMIT behind the last, neither waited for', async () => {
    const prefix = `wire_${randomUUID().slice(0, 8)}`;
    let holdBeforeLast = false;
    const run = () =>
      pipelinedTransaction(proxied.db, async (tx) => {
        await tx.execute(sql`select 'first statement' as marker`);
        if (holdBeforeLast) {
          held = true;
          sentByClient = '';
        }
        return {
          last: sql`insert into ${accounts} (only_fans_user_id, username, created_by, created_at)
            values (${`8${Date.now()}${Math.floor(Math.random() * 1000)}`}, ${`${prefix}_x`}, ${randomUUID()},
              now()) returning username`,
          finish: (rows) => rows[0]!.username,
        };
      });
    // Once freely, so that the pool's connection is open and has prepared every statement (a statement
    // a connection has not prepared yet is described first, and what follows waits for that answer).
    expect(await run()).toBe(`${prefix}_x`);

    held = true;
    sentByClient = '';
    holdBeforeLast = true;
    const pipelined = run();
    // The first statement is written while BEGIN's answer is held back.
    await vi.waitFor(() => expect(sentByClient).toContain('first statement'));
    expect(sentByClient.toLowerCase()).toMatch(/begin[^]*first statement/);
    release();
    // COMMIT is written while the last statement's answer is held back.
    await vi.waitFor(() => expect(sentByClient.toLowerCase()).toContain('commit'));
    expect(sentByClient).toMatch(new RegExp(`${prefix}_x[^]*commit`));
    release();
    expect(await pipelined).toBe(`${prefix}_x`);
    expect(await usernames(proxied, prefix)).toEqual([`${prefix}_x`, `${prefix}_x`]);
  });

  test('a transaction waiting for the pool gets the connection that reopens after its holder lost it', async () => {
    const prefix = `queued_${randomUUID().slice(0, 8)}`;
    const admin = postgres(database.url!, { max: 1, onnotice: () => {} });
    try {
      let holding!: () => void;
      const held = new Promise<void>((resolve) => (holding = resolve));
      let pid = 0;
      // The pool's only connection is reserved by the first transaction...
      const first = pipelinedTransaction(database.db, async (tx) => {
        const result: unknown = await tx.execute(sql`select pg_backend_pid() as pid`);
        pid = (result as { pid: number }[])[0]!.pid;
        holding();
        await new Promise((resolve) => setTimeout(resolve, 200));
        return { last: sql`select 1`, finish: () => 'first' };
      });
      first.catch(() => {});
      await held;
      // ...so the second waits for it; then the first one's backend is terminated.
      const second = pipelinedTransaction(database.db, async (tx) => {
        await tx.insert(accounts).values(account(`${prefix}_second`));
        return { last: sql`select 2`, finish: () => 'second' };
      });
      await admin`select pg_terminate_backend(${pid})`;
      await expect(first).rejects.toThrow();
      // The connection reopens for the waiting transaction, which runs (unpatched, it waited for ever).
      expect(await second).toBe('second');
      expect(await usernames(database, prefix)).toEqual([`${prefix}_second`]);
    } finally {
      await admin.end();
    }
  });

  test('a connection lost in the middle fails the transaction, commits nothing and costs the pool nothing', async () => {
    const prefix = `lost_${randomUUID().slice(0, 8)}`;
    const admin = postgres(database.url!, { max: 1, onnotice: () => {} });
    try {
      // The pool's only connection is reserved, and terminated before the last statement.
      await expect(
        pipelinedTransaction(database.db, async (tx) => {
          await tx.insert(accounts).values(account(`${prefix}_lost`));
          const result: unknown = await tx.execute(sql`select pg_backend_pid() as pid`);
          const [row] = result as { pid: number }[];
          await admin`select pg_terminate_backend(${row!.pid})`;
          return { last: sql`select 1`, finish: () => 'never' };
        }),
      ).rejects.toThrow();
      // The pool reconnects and answers, on its one connection, as many times as asked.
      for (let i = 0; i < 3; i++) await database.db.insert(accounts).values(account(`${prefix}_after_${i}`));
      expect(await usernames(database, prefix)).toEqual([0, 1, 2].map((i) => `${prefix}_after_${i}`));
      const [found] = await database.db
        .select({ id: accounts.id })
        .from(accounts)
        .where(eq(accounts.username, `${prefix}_lost`));
      expect(found).toBeUndefined();
    } finally {
      await admin.end();
    }
  });
});
