import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { postgresBudgetStore, RequestBudgets } from '../src/services/request-budget.ts';
import { createTestApp, seedAccount, type TestApp } from './harness.ts';

// A user over their request budget gets 429 with Retry-After; other users are not affected.

let app: TestApp;
let base: string;
let seeded: Awaited<ReturnType<typeof seedAccount>>;
beforeAll(async () => {
  app = await createTestApp({ budget: { capacity: 3, refillPerSecond: 1 } });
  base = await app.listen();
  seeded = await seedAccount(app);
});
afterAll(() => app?.close());

async function listAccounts(userId: string) {
  const response = await fetch(`${base}/api/v2/accounts`, {
    headers: { authorization: `Bearer ${await app.token(userId)}` },
  });
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: await response.json(),
  };
}

test('a burst over the budget is refused with 429 and Retry-After, and allowed again after it', async () => {
  const statuses = [];
  for (let i = 0; i < 4; i++) statuses.push((await listAccounts(seeded.users.chatter)).status);
  expect(statuses).toEqual([200, 200, 200, 429]);
  const refused = await listAccounts(seeded.users.chatter);
  expect(refused).toMatchObject({
    status: 429,
    retryAfter: '1',
    body: { status: 'error', error: { code: 'rate_limit_exceeded' } },
  });
  expect((await listAccounts(seeded.users.viewer)).status).toBe(200);
  app.clock.advance(1_000);
  expect((await listAccounts(seeded.users.chatter)).status).toBe(200);
});

// N API processes on one PostgreSQL share each user's budget (request_budgets): two RequestBudgets
// on one database stand for two processes. PGlite belongs to one process, so it has no store.
describe.skipIf(!process.env.DATABASE_URL)('a budget shared by processes', () => {
  const policy = { capacity: 20, refillPerSecond: 1 };
  const allowed = async (budgets: RequestBudgets, userId: string, at: number) =>
    budgets.take(userId, at).then(
      () => true,
      (error: unknown) => {
        expect(error).toMatchObject({ apiCode: 'rate_limit_exceeded' });
        return false;
      },
    );

  test('regression: two processes allowed twice the burst; now they allow it once, within a chunk each', async () => {
    const store = postgresBudgetStore(app.database.db, policy);
    const processes = [new RequestBudgets(policy, { store }), new RequestBudgets(policy, { store })];
    const userId = randomUUID();
    const at = app.clock.now().getTime();
    let count = 0;
    for (let i = 0; i < 100; i++) if (await allowed(processes[i % 2]!, userId, at)) count++;
    // A chunk is 2 tokens: at most one chunk per process sits unspent when the bucket runs dry.
    expect(count).toBeGreaterThanOrEqual(16);
    expect(count).toBeLessThanOrEqual(20);
    // Refilled at 1 token a second, shared by both.
    let later = 0;
    for (let i = 0; i < 40; i++) if (await allowed(processes[i % 2]!, userId, at + 10_000)) later++;
    expect(later).toBeGreaterThanOrEqual(8);
    expect(later).toBeLessThanOrEqual(12);
    await Promise.all(processes.map((budgets) => budgets.close()));
  });

  test('tokens a process holds for an idle user go back, so the other process can spend them', async () => {
    const store = postgresBudgetStore(app.database.db, policy);
    const [a, b] = [new RequestBudgets(policy, { store }), new RequestBudgets(policy, { store })];
    const userId = randomUUID();
    const at = app.clock.now().getTime();
    expect(await allowed(a, userId, at)).toBe(true); // A holds a chunk: one spent, one left
    let count = 0;
    while (await allowed(b, userId, at)) count++;
    expect(count).toBe(18);
    await a.settle(at + 1_000); // A gives back its idle token
    expect(await allowed(b, userId, at + 1_000)).toBe(true);
    await Promise.all([a.close(), b.close()]);
  });

  test('over budget, Retry-After says when the shared bucket holds a token again', async () => {
    const store = postgresBudgetStore(app.database.db, { capacity: 2, refillPerSecond: 0.25 });
    const budgets = new RequestBudgets({ capacity: 2, refillPerSecond: 0.25 }, { store });
    const userId = randomUUID();
    const at = app.clock.now().getTime();
    await budgets.take(userId, at);
    await budgets.take(userId, at);
    await expect(budgets.take(userId, at)).rejects.toMatchObject({ retryAfterSeconds: 4 });
    await budgets.close();
  });
});
