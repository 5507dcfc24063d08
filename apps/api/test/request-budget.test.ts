import { afterAll, beforeAll, expect, test } from 'vitest';
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
