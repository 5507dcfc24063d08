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

// Shapes of one statement: a name, with or without a greeting in front, and `mark` after it, fixed when
// the shape's text is made (a value in a shape, as a shape should not hold one: the bound is tested below).
const greetings = (maxShapes?: number) =>
  new StatementShapes<{ greet: boolean; mark: string }>(
    ({ greet, mark }) =>
      sql`select ${greet ? sql`${sql.placeholder('greeting')}::text || ' ' || ` : sql``}${sql.placeholder('name')}::text || ${mark} as said`,
    maxShapes,
  );

test('each shape keeps its own text, and every call is sent with its own values', async () => {
  const statement = greetings();
  const said = async (greet: boolean, values: Record<string, unknown>) =>
    (await statement.rows(db.db, { greet, mark: '.' }, values))[0]?.said;
  expect(await said(true, { greeting: 'hello', name: 'Ann' })).toBe('hello Ann.');
  expect(await said(false, { greeting: 'hello', name: 'Bo' })).toBe('Bo.');
  expect(await said(true, { greeting: 'hi', name: 'Cy' })).toBe('hi Cy.');
  // A value of a placeholder is never text of the statement.
  expect(await said(false, { name: "'; drop table fans; --" })).toBe("'; drop table fans; --.");
});

test('a statement whose shapes hold values, making a text per call, fails loudly instead of growing without end', async () => {
  const statement = greetings(2);
  const values = { greeting: 'hello', name: 'Ann' };
  expect((await statement.rows(db.db, { greet: true, mark: '!' }, values))[0]?.said).toBe('hello Ann!');
  expect((await statement.rows(db.db, { greet: true, mark: '?' }, values))[0]?.said).toBe('hello Ann?');
  await expect(statement.rows(db.db, { greet: true, mark: '.' }, values)).rejects.toThrow(
    'more than 2 shapes of one statement',
  );
});
