import { randomBytes, randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@fannotes/db/testing';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { mintToken } from '../src/auth/dev-keys.ts';
import { spawnApi, type ApiProcess } from './spawn-api.ts';

// Issue 13.6: the per-user request budget was per process, so N processes allowed N times it. Two
// real API processes on one PostgreSQL database, one user alternating between them as a round-robin
// load balancer would send them: together they allow one budget (within a chunk per process).

const SUPABASE_URL = 'http://127.0.0.1:54321';
const BURST = 30;
const PER_SECOND = 1;

let database: TestDatabase;
let apis: ApiProcess[] = [];
let secret: string;

beforeAll(async () => {
  if (!process.env.DATABASE_URL) return;
  database = await createTestDatabase();
  secret = randomBytes(32).toString('base64url');
  const env = {
    NODE_ENV: 'production',
    DATABASE_URL: database.url!,
    SUPABASE_URL,
    SUPABASE_JWT_SECRET: secret,
    LOG_LEVEL: 'info',
    RATE_LIMIT_BURST: String(BURST),
    RATE_LIMIT_PER_MINUTE: String(PER_SECOND * 60),
  };
  apis = await Promise.all([spawnApi('A', env), spawnApi('B', env)]);
}, 90_000);

afterAll(async () => {
  await Promise.all(apis.map((api) => api.stop()));
  await database?.close();
});

test.skipIf(!process.env.DATABASE_URL)(
  'regression: two processes allowed a user twice the budget; behind round-robin they now allow it once',
  async () => {
    const token = await mintToken({ secret, issuer: `${SUPABASE_URL}/auth/v1`, userId: randomUUID() });
    const statuses: number[] = [];
    const started = performance.now();
    for (let i = 0; i < 160; i++) {
      const response = await fetch(`${apis[i % 2]!.url}/api/v2/accounts`, {
        headers: { authorization: `Bearer ${token}` },
      });
      await response.arrayBuffer();
      statuses.push(response.status);
    }
    const seconds = (performance.now() - started) / 1000;
    expect(new Set(statuses)).toEqual(new Set([200, 429]));
    const allowed = statuses.filter((status) => status === 200).length;
    const budget = BURST + PER_SECOND * seconds;
    // Before: each process its own budget, about twice this. A chunk is a tenth of the burst.
    expect(allowed).toBeLessThanOrEqual(Math.ceil(budget * 1.2));
    expect(allowed).toBeGreaterThanOrEqual(Math.floor(budget * 0.8));
    process.stdout.write(
      `shared budget: ${allowed} of 160 allowed over ${seconds.toFixed(2)} s (budget ${budget.toFixed(1)})\n`,
    );
  },
);
