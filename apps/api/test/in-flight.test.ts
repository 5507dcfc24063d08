import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { holdLock } from '../hardening/lib/database.ts';
import { createTestApp, seedAccount, type TestApp } from './harness.ts';

// A user may have 4 requests running at once per process (RATE_LIMIT_CONCURRENT); the next is 429
// with Retry-After, and other users are not affected. Requests are held running by a lock on the
// fan's row, which needs a second session: PostgreSQL only.

let app: TestApp;
let base: string;
let seeded: Awaited<ReturnType<typeof seedAccount>>;
beforeAll(async () => {
  app = await createTestApp();
  base = await app.listen();
  seeded = await seedAccount(app);
});
afterAll(() => app?.close());

async function call(userId: string, path: string, body?: object) {
  const response = await fetch(`${base}/api/v2${path}`, {
    method: body ? 'POST' : 'GET',
    headers: {
      authorization: `Bearer ${await app.token(userId)}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: await response.json(),
  };
}

test.skipIf(!process.env.DATABASE_URL)(
  'regression: one user could run any number of heavy requests at once; the fifth is 429 until one ends',
  async () => {
    const lock = await holdLock(
      app.database.url!,
      sql`select 1 from fans where id = ${seeded.fan.id} for update`,
    );
    const chatter = seeded.users.chatter;
    const held = Array.from({ length: 4 }, (_, i) =>
      call(chatter, '/update-note', { fanId: '12345', content: `Held ${i}` }),
    );
    await expect
      .poll(async () => {
        const result: unknown = await app.database.db.execute(
          sql`select count(*)::int as n from pg_stat_activity
              where datname = current_database() and wait_event_type = 'Lock'`,
        );
        return (result as { n: number }[])[0]!.n;
      })
      .toBe(4);
    const fifth = await call(chatter, '/accounts');
    expect(fifth).toMatchObject({
      status: 429,
      retryAfter: '1',
      body: {
        status: 'error',
        error: { code: 'rate_limit_exceeded', details: { reason: 'concurrent requests' } },
      },
    });
    // Another user is served meanwhile.
    expect((await call(seeded.users.viewer, '/accounts')).status).toBe(200);
    await lock.release();
    expect((await Promise.all(held)).map((reply) => reply.status)).toEqual(Array(4).fill(200));
    expect((await call(chatter, '/accounts')).status).toBe(200);
  },
);
