import { randomBytes, randomUUID } from 'node:crypto';
import {
  accounts,
  createFanChangeNotifier,
  fans,
  memberships,
  withQueryCount,
  type QueryCount,
} from '@fannotes/db';
import { createTestDatabase, type TestDatabase } from '@fannotes/db/testing';
import { defaultThrottlePolicy } from '@fannotes/sync-core';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { mintToken } from '../src/auth/dev-keys.ts';
import { createTokenVerifier } from '../src/auth/verify-token.ts';
import { createContext, type AppDeps } from '../src/context.ts';
import { createCaller } from '../src/root.ts';
import { InFlightLimit } from '../src/services/in-flight.ts';
import { RequestBudgets } from '../src/services/request-budget.ts';

// What each hot request costs the database, counted at the driver (packages/db query-count.ts) around
// the procedure call: every statement, BEGIN and COMMIT included, and on PostgreSQL the round trips
// they took. Each request is made once before it is counted, on a one-connection pool, so its
// statements are prepared (a statement a connection has not prepared yet costs one more round trip).
// These are the counts docs/PERFORMANCE.md and services/sync.ts promise; a refactor of the statements
// must keep them.

const ISSUER = 'http://127.0.0.1:54321/auth/v1';
const START = new Date('2026-03-01T12:00:00.000Z');
const fanId = '777';

let database: TestDatabase;
const pokesInFlight = new Set<Promise<void>>();
let caller: (userId: string) => Promise<ReturnType<typeof createCaller>>;
let now = START;
const chatter = randomUUID();

beforeAll(async () => {
  database = await createTestDatabase({ maxConnections: 1, countQueries: true });
  const secret = randomBytes(32).toString('base64url');
  const clock = () => new Date(now);
  // Pokes leave after the answer (notify.ts); on this one-connection pool a poke still in flight would
  // run in the next measured request's place, so each measurement waits for the previous ones first.
  const notifier = createFanChangeNotifier(database);
  const pokes: AppDeps['pokes'] = {
    ...notifier,
    announce: (changes) => {
      const sent = notifier.announce(changes);
      pokesInFlight.add(sent);
      void sent.finally(() => pokesInFlight.delete(sent));
      return sent;
    },
  };
  const deps: AppDeps = {
    db: database.db,
    pokes,
    verifyToken: createTokenVerifier({ issuer: ISSUER, jwtSecret: secret, now: clock }),
    allowedOrigins: [],
    throttle: defaultThrottlePolicy,
    tombstoneTtlMs: 30 * 24 * 3600 * 1000,
    budgets: new RequestBudgets(null),
    inFlight: new InFlightLimit(4),
    now: clock,
    logger: pino({ level: 'silent' }),
  };
  caller = async (userId) => {
    const token = await mintToken({ secret, issuer: ISSUER, userId, now: Math.floor(now.getTime() / 1000) });
    return createCaller(createContext(deps, randomUUID(), { authorization: `Bearer ${token}` }));
  };
  // The fixture, written directly: an account, its chatter and a fan.
  const [account] = await database.db
    .insert(accounts)
    .values({ onlyFansUserId: '900777', username: 'creator_900777', createdBy: chatter, createdAt: now })
    .returning();
  await database.db
    .insert(memberships)
    .values({ accountId: account!.id, userId: chatter, role: 'chatter', createdAt: now, updatedAt: now });
  await database.db.insert(fans).values({ accountId: account!.id, fanId, createdAt: now, updatedAt: now });
});
afterAll(() => database?.close());

/** The statements and round trips `request` made, the second time it ran (the first prepares them). */
async function cost(request: () => Promise<unknown>): Promise<Omit<QueryCount, 'prepares'>> {
  await request();
  await Promise.all(pokesInFlight);
  const count: QueryCount = { statements: 0, roundTrips: 0, prepares: 0 };
  await withQueryCount(count, request);
  expect(count.prepares, 'statements prepared again on their second run').toBe(0);
  return { statements: count.statements, roundTrips: count.roundTrips };
}

const advance = (ms: number) => {
  now = new Date(now.getTime() + ms);
};

test('a full sync without changes is one round trip, a forced one two', async () => {
  const api = await caller(chatter);
  expect(
    await cost(async () => {
      advance(60_000);
      const { data } = await api.notes.sync({ fanId });
      expect(data.synchronized).toBe(true);
    }),
  ).toEqual({ statements: 1, roundTrips: 1 });
  // Forced, the plan (its force floor) is sync-core's: made from the first statement's fan row, then
  // run by a second.
  expect(
    await cost(async () => {
      advance(10 * 60_000);
      const { data } = await api.notes.sync({ fanId, force: true });
      expect(data.synchronized).toBe(true);
    }),
  ).toEqual({ statements: 2, roundTrips: 2 });
});

// On PostgreSQL BEGIN goes out with the first statement and COMMIT behind the last (packages/db
// pipelinedTransaction): four statements, two round trips. PGlite runs in-process: one call each.
test('a push is two round trips: BEGIN with the lock statement, the closing statement with COMMIT (its poke leaves later, batched)', async () => {
  const pushCost = { statements: 4, roundTrips: database.kind === 'postgres' ? 2 : 4 };
  const api = await caller(chatter);
  const clientId = randomUUID();
  let next = 1;
  const push = (count: number) => async () => {
    const mutations = Array.from({ length: count }, () => {
      const id = next++;
      return {
        id,
        op: 'upsert' as const,
        noteId: `note_${randomUUID()}`,
        baseVersion: 0,
        note: { content: `n${id}` },
      };
    });
    const { data } = await api.notes.sync({ fanId, clientId, mutations });
    expect(data.results.map((result) => result.status)).toEqual(mutations.map(() => 'applied'));
  };
  expect(await cost(push(1))).toEqual(pushCost);
  expect(await cost(push(100))).toEqual(pushCost);
  // An OnlyFans snapshot alone is a push too (one note more each time: the same statements).
  let snapshot = 0;
  expect(
    await cost(async () => {
      snapshot++;
      const onlyFansNotes = Array.from({ length: snapshot }, (_, i) => ({
        onlyFansNoteId: `of-${i}`,
        content: `imported ${i}`,
      }));
      const { data } = await api.notes.sync({ fanId, clientId, onlyFansNotes });
      expect(data.synchronized).toBe(true);
    }),
  ).toEqual(pushCost);
});

test('a throttled read is one round trip, with or without a cursor, with or without a clientId', async () => {
  const api = await caller(chatter);
  advance(60_000);
  const { data: synced } = await api.notes.sync({ fanId });
  expect(synced.synchronized).toBe(true);
  expect(
    await cost(async () => {
      const { data } = await api.notes.sync({ fanId });
      expect(data.throttled).toBe(true);
    }),
  ).toEqual({ statements: 1, roundTrips: 1 });
  expect(
    await cost(async () => {
      const { data } = await api.notes.sync({ fanId, cursor: synced.cursor });
      expect(data.throttled).toBe(true);
    }),
  ).toEqual({ statements: 1, roundTrips: 1 });
  // A delta pull as the extension sends it (with its clientId) is answered its last mutation id.
  expect(
    await cost(async () => {
      const { data } = await api.notes.sync({ fanId, cursor: synced.cursor, clientId: randomUUID() });
      expect(data).toMatchObject({ throttled: true, lastMutationId: 0 });
    }),
  ).toEqual({ statements: 1, roundTrips: 1 });
});

test('update-note is seven round trips: resolve, BEGIN, lock, read, write, bump, COMMIT', async () => {
  const api = await caller(chatter);
  const { data: note } = await api.notes.update({ fanId, content: 'first' });
  expect(
    await cost(async () => {
      const { data } = await api.notes.update({ fanId, content: 'a new note' });
      expect(data.content).toBe('a new note');
    }),
  ).toEqual({ statements: 7, roundTrips: 7 });
  let edit = 0;
  expect(
    await cost(async () => {
      edit++;
      const { data } = await api.notes.update({ fanId, noteId: note.id, content: `edit ${edit}` });
      expect(data.content).toBe(`edit ${edit}`);
    }),
  ).toEqual({ statements: 7, roundTrips: 7 });
});
