import { createTestDatabase, type TestDatabase } from '@fannotes/db/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { StatementShapes } from './raw-sql.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.close();
});

// Two shapes of one statement: a name, with or without a greeting in front.
const greetings = (maxShapes?: number) =>
  new StatementShapes<{ greet: boolean }>(
    ({ greet }) =>
      sql`select ${greet ? sql`${sql.placeholder('greeting')}::text || ' ' || ` : sql``}${sql.placeholder('name')}::text as said`,
    maxShapes,
  );

test('each shape keeps its own text, and every call is sent with its own values', async () => {
  const statement = greetings();
  const said = async (greet: boolean, values: Record<string, unknown>) =>
    (await statement.rows(db.db, String(greet), { greet }, values))[0]?.said;
  expect(await said(true, { greeting: 'hello', name: 'Ann' })).toBe('hello Ann');
  expect(await said(false, { greeting: 'hello', name: 'Bo' })).toBe('Bo');
  expect(await said(true, { greeting: 'hi', name: 'Cy' })).toBe('hi Cy');
  // A value of a placeholder is never text of the statement.
  expect(await said(false, { name: "'; drop table fans; --" })).toBe("'; drop table fans; --");
});

test('a key that holds a value, making a shape per call, fails loudly instead of growing without end', async () => {
  const statement = greetings(2);
  const values = { greeting: 'hello', name: 'Ann' };
  await statement.rows(db.db, 'hello Ann', { greet: true }, values);
  await statement.rows(db.db, 'hello Bo', { greet: true }, { ...values, name: 'Bo' });
  await expect(statement.rows(db.db, 'hello Cy', { greet: true }, values)).rejects.toThrow(
    'more than 2 shapes of one statement',
  );
});
