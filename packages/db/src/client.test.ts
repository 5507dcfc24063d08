import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { accounts, fans, notes } from './schema/index.ts';
import { createTestDatabase, type TestDatabase } from './testing.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
}, 60_000);
afterAll(() => database?.close());

test('a test database starts migrated and empty', async () => {
  await database.ping();
  expect(await database.db.select().from(accounts)).toEqual([]);
});

test('a note cannot be stored with an invalid colour or type', async () => {
  const now = new Date();
  const [account] = await database.db
    .insert(accounts)
    .values({ onlyFansUserId: '1', username: 'a', createdBy: crypto.randomUUID(), createdAt: now })
    .returning();
  const [fan] = await database.db
    .insert(fans)
    .values({ accountId: account!.id, fanId: '2', createdAt: now, updatedAt: now })
    .returning();
  const base = {
    fanRowId: fan!.id,
    accountId: account!.id,
    content: 'x',
    version: 1,
    contentVersion: 1,
    createdAt: now,
    updatedAt: now,
  };
  await expect(database.db.insert(notes).values({ ...base, id: 'note_a', color: 'red' })).rejects.toThrow();
  await expect(
    database.db.insert(notes).values({ ...base, id: 'note_b', type: 'bogus' as 'other' }),
  ).rejects.toThrow();
  await database.db.insert(notes).values({ ...base, id: 'note_c', color: '#00AFF0' });
  expect(await database.db.select().from(notes).where(eq(notes.fanRowId, fan!.id))).toHaveLength(1);
});

test('two OnlyFans notes of one fan cannot share an OnlyFans id', async () => {
  const [fan] = await database.db.select().from(fans);
  const now = new Date();
  const base = {
    fanRowId: fan!.id,
    accountId: fan!.accountId,
    content: 'x',
    version: 1,
    contentVersion: 1,
    createdAt: now,
    updatedAt: now,
    source: 'onlyfans' as const,
    onlyFansNoteId: '2',
  };
  await database.db.insert(notes).values({ ...base, id: 'note_of1' });
  await expect(database.db.insert(notes).values({ ...base, id: 'note_of2' })).rejects.toThrow();
});
