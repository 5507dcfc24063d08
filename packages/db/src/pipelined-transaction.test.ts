import { setTimeout as delay } from 'node:timers/promises';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openPostgres, withQueryCount, type DatabaseHandle, type QueryCount } from './client.ts';
import { pipelinedTransaction } from './pipelined-transaction.ts';
import { accounts } from './schema/index.ts';
import { createTestDatabase, type TestDatabase } from './testing.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
}, 60_000);
afterAll(() => database?.close());

const newAccount = (username: string) => ({
  onlyFansUserId: String(Math.floor(Math.random() * 1e12)),
  username,
  createdBy: crypto.randomUUID(),
  createdAt: new Date(),
});
const stored = async (username: string) =>
  (await database.db.select().from(accounts).where(eq(accounts.username, username))).length;

describe('pipelinedTransaction', () => {
  test('the statements are one transaction, committed with the last one, whose rows it returns', async () => {
    const rows: Record<string, unknown>[] = await pipelinedTransaction(
      database.db,
      async ({ tx, commitWith }) => {
        const [first] = await tx
          .execute<{ at: string }>(sql`select now()::text as at`)
          .then(rowsOf<{ at: string }>);
        await tx.insert(accounts).values(newAccount('committed-1'));
        await delay(5);
        return commitWith(sql`insert into accounts (only_fans_user_id, username, created_by, created_at)
        values ('pt-2', 'committed-2', gen_random_uuid(), now())
        returning now()::text as at, ${first!.at}::text as first_at`);
      },
    );
    // now() is the transaction's start: the same in both statements, so they ran in one transaction.
    expect(rows).toEqual([{ at: rows[0]!.first_at, first_at: rows[0]!.first_at }]);
    expect([await stored('committed-1'), await stored('committed-2')]).toEqual([1, 1]);
  });

  test('an error before the last statement rolls back everything before it', async () => {
    await expect(
      pipelinedTransaction(database.db, async ({ tx }) => {
        await tx.insert(accounts).values(newAccount('rolled-back'));
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(await stored('rolled-back')).toBe(0);
  });

  test('a last statement that fails rolls back the transaction and rejects with its error', async () => {
    await expect(
      pipelinedTransaction(database.db, async ({ tx, commitWith }) => {
        await tx.insert(accounts).values(newAccount('before-failure'));
        return commitWith(sql`select 1 / 0`);
      }),
    ).rejects.toSatisfy((error) => /division by zero/.test(messages(error)));
    expect(await stored('before-failure')).toBe(0);
  });

  test('work that never calls commitWith is committed when it returns', async () => {
    await pipelinedTransaction(database.db, async ({ tx }) => {
      await tx.insert(accounts).values(newAccount('implicit-commit'));
    });
    expect(await stored('implicit-commit')).toBe(1);
  });
});

// Round trips and connections exist only on a server.
describe.skipIf(!process.env.DATABASE_URL)('pipelinedTransaction on PostgreSQL', () => {
  let counting: DatabaseHandle;
  beforeAll(async () => {
    counting = await openPostgres({
      url: database.url!,
      migrate: false,
      countQueries: true,
      maxConnections: 2,
    });
  });
  afterAll(() => counting?.close());

  const transaction = (username: string) =>
    pipelinedTransaction(counting.db, async ({ tx, commitWith }) => {
      await tx.execute(sql`select count(*) from accounts where username = ${username}`);
      await tx.execute(sql`select ${username}::text as name`);
      return commitWith(sql`insert into accounts (only_fans_user_id, username, created_by, created_at)
        values (${username}, ${username}, gen_random_uuid(), now()) returning username`);
    });

  test('BEGIN travels with the first statement and COMMIT with the last: 5 statements, 3 round trips', async () => {
    for (let i = 0; i < 4; i++) await transaction(`warm-${i}`);
    const count: QueryCount = { statements: 0, roundTrips: 0 };
    await withQueryCount(count, () => transaction('counted'));
    expect(count).toEqual({ statements: 5, roundTrips: 3 });
  });

  test('every connection goes back to the pool: 40 transactions, half failing, on 2 connections', async () => {
    const outcomes = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        i % 2
          ? transaction(`pool-${i}`)
          : pipelinedTransaction(counting.db, async ({ tx }) => {
              await tx.execute(sql`select 1`);
              throw new Error(`refused ${i}`);
            }),
      ),
    );
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(20);
    expect(
      await counting.db.execute(sql`select count(*)::int as n from accounts where username like 'pool-%'`),
    ).toEqual([{ n: 20 }]);
  });
});

function rowsOf<T>(result: unknown): T[] {
  return Array.isArray(result) ? (result as T[]) : (result as { rows: T[] }).rows;
}

/** An error's message and its causes' (drizzle wraps a driver's error in its own). */
function messages(error: unknown): string {
  const { message, cause } = error as { message?: string; cause?: unknown };
  return `${message ?? ''}${cause ? ` / ${messages(cause)}` : ''}`;
}
