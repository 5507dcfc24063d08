import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { ApiError } from '../src/errors.ts';
import { LiveHub, type LiveSignal, type LiveSubscription } from '../src/live/hub.ts';
import { accountsOfUsers } from '../src/live/memberships.ts';
import { createTestApp, seedAccount, START, type TestApp } from './harness.ts';
import { ManualClock } from './manual-clock.ts';

const HOUR = 3600_000;

/** Reads a stream in the background: `seen` is everything it yielded so far. */
function collect(stream: LiveSubscription) {
  const seen: LiveSignal[] = [];
  const done = (async () => {
    for await (const signal of stream) seen.push(signal);
  })();
  return { seen, done };
}

const change = (accountId: string, fanId: string, version: number) => ({ accountId, fanId, version });

describe('the live hub (real memberships on the test database, a manual clock)', () => {
  let app: TestApp;
  let seeded: Awaited<ReturnType<typeof seedAccount>>;
  let clock: ManualClock;
  let hub: LiveHub;
  let loads: (readonly string[])[];

  beforeAll(async () => {
    app = await createTestApp();
    seeded = await seedAccount(app);
  });
  afterAll(async () => {
    await app?.close();
  });
  beforeEach(() => {
    clock = new ManualClock(START.getTime());
    loads = [];
    hub = new LiveHub({
      clock,
      random: () => 0.5,
      loadMemberships: (userIds) => {
        loads.push(userIds);
        return accountsOfUsers(app.database.db, userIds);
      },
    });
    return () => hub.close();
  });

  const open = (
    userId: string,
    options: { filter?: { accountId: string; fanId: string }; ttlMs?: number } = {},
  ) => hub.subscribe({ userId, filter: options.filter, expiresAt: clock.now() + (options.ttlMs ?? HOUR) });

  test('a burst of pokes for one fan goes out at once, then as one poke with the highest version', async () => {
    const { seen } = collect(await open(seeded.users.chatter));
    const { id: accountId } = seeded.account;
    hub.poke(change(accountId, '12345', 1));
    hub.poke(change(accountId, '12345', 3));
    hub.poke(change(accountId, '12345', 2));
    await clock.advance(0);
    expect(seen).toEqual([{ type: 'change', accountId, fanId: '12345', version: 1 }]);
    await clock.advance(25);
    expect(seen).toEqual([
      { type: 'change', accountId, fanId: '12345', version: 1 },
      { type: 'change', accountId, fanId: '12345', version: 3 },
    ]);
    // A quiet window sends nothing more; the next poke goes out at once again.
    await clock.advance(100);
    hub.poke(change(accountId, '12345', 4));
    await clock.advance(0);
    expect(seen.map((signal) => signal.type === 'change' && signal.version)).toEqual([1, 3, 4]);
  });

  test('pokes of other fans are not held back by a fan in its coalescing window', async () => {
    const { seen } = collect(await open(seeded.users.viewer));
    const { id: accountId } = seeded.account;
    hub.poke(change(accountId, '1', 1));
    hub.poke(change(accountId, '2', 7));
    await clock.advance(0);
    expect(seen).toEqual([
      { type: 'change', accountId, fanId: '1', version: 1 },
      { type: 'change', accountId, fanId: '2', version: 7 },
    ]);
  });

  test('pokes reach members of the account only', async () => {
    const stranger = collect(await open(randomUUID()));
    const member = collect(await open(seeded.users.owner));
    hub.poke(change(seeded.account.id, '12345', 1));
    await clock.advance(0);
    expect(member.seen).toHaveLength(1);
    expect(stranger.seen).toEqual([]);
  });

  test('a removed member stops getting pokes at the next membership refresh, read in one query for all streams', async () => {
    const other = await seedAccount(app, '555');
    const leaving = await app.caller(other.users.owner);
    const removed = collect(await open(other.users.chatter));
    collect(await open(other.users.chatter));
    const staying = collect(await open(other.users.manager));
    hub.poke(change(other.account.id, '555', 1));
    await clock.advance(25);
    expect(removed.seen).toHaveLength(1);

    await leaving.accounts.removeMember({ accountId: other.account.id, userId: other.users.chatter });
    loads.length = 0;
    await clock.advance(2_000); // the refresh interval (default 2 s, never more than 5 s)
    await hub.refreshMemberships(); // the timer's refresh may still be running: this waits, or reads again
    // One query per refresh, naming every user with an open stream once (three streams, two users).
    expect(loads.length).toBeGreaterThan(0);
    for (const load of loads) expect(load).toEqual([other.users.chatter, other.users.manager]);

    hub.poke(change(other.account.id, '555', 2));
    await clock.advance(0);
    expect(staying.seen).toHaveLength(2);
    expect(removed.seen).toHaveLength(1);
    expect(hub.accountsOf(other.users.chatter)).toEqual(new Set());
  });

  test('a member who joined through another process starts getting its pokes at the next refresh', async () => {
    const other = await seedAccount(app, '556');
    const joining = randomUUID();
    const joiner = collect(await open(joining));
    // No hub of this process was told (deps.live is unset): the periodic refresh must find the member.
    const invite = await (
      await app.caller(other.users.owner)
    ).accounts.createInvite({ accountId: other.account.id, role: 'viewer' });
    await (await app.caller(joining)).invites.redeem({ code: invite.data.code });
    hub.poke(change(other.account.id, '556', 1));
    await clock.advance(0);
    expect(joiner.seen).toEqual([]);
    await clock.advance(2_000);
    await hub.refreshMemberships();
    hub.poke(change(other.account.id, '556', 2));
    await clock.advance(0);
    expect(joiner.seen).toEqual([{ type: 'change', accountId: other.account.id, fanId: '556', version: 2 }]);
  });

  test("redeeming an invite puts the account on the redeemer's open streams at once", async () => {
    const other = await seedAccount(app, '557');
    const joining = randomUUID();
    const joiner = collect(await open(joining));
    app.deps.live = hub;
    try {
      const invite = await (
        await app.caller(other.users.manager)
      ).accounts.createInvite({ accountId: other.account.id, role: 'chatter' });
      const redeemed = await (await app.caller(joining)).invites.redeem({ code: invite.data.code });
      expect(redeemed.data.joined).toBe(true);
    } finally {
      delete app.deps.live;
    }
    hub.poke(change(other.account.id, '557', 1));
    await clock.advance(0);
    expect(joiner.seen).toEqual([{ type: 'change', accountId: other.account.id, fanId: '557', version: 1 }]);
  });

  test("a stream filtered to one fan gets that fan's pokes only", async () => {
    const { id: accountId } = seeded.account;
    const { seen } = collect(await open(seeded.users.chatter, { filter: { accountId, fanId: '12345' } }));
    hub.poke(change(accountId, '999', 1));
    hub.poke(change(accountId, '12345', 4));
    await clock.advance(0);
    expect(seen).toEqual([{ type: 'change', accountId, fanId: '12345', version: 4 }]);
  });

  test("a stream ends at its token's exp, and its slot is free again", async () => {
    const { seen, done } = collect(await open(seeded.users.chatter, { ttlMs: 60_000 }));
    expect(hub.size).toBe(1);
    await clock.advance(60_000);
    await done;
    expect(seen.at(-1)).toEqual({ type: 'end', reason: 'token_expired', retryAfterMs: 0 });
    expect(hub.size).toBe(0);
    await expect(open(seeded.users.chatter, { ttlMs: 0 })).rejects.toMatchObject({
      apiCode: 'authentication_required',
    });
  });

  test('a sixth stream of one user is refused with 429 rate_limit_exceeded; other users are not affected', async () => {
    const streams = await Promise.all([1, 2, 3, 4, 5].map(() => open(seeded.users.chatter)));
    const refused = await open(seeded.users.chatter).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ApiError);
    const { apiCode, httpStatus, message, retryAfterSeconds, details } = refused as ApiError;
    expect({ apiCode, httpStatus, message, retryAfterSeconds, details }).toMatchInlineSnapshot(`
      {
        "apiCode": "rate_limit_exceeded",
        "details": {
          "limit": 5,
          "reason": "open streams",
        },
        "httpStatus": 429,
        "message": "Too many open streams: at most 5 per user. Close one (one stream covers all your accounts).",
        "retryAfterSeconds": 5,
      }
    `);
    await expect(open(seeded.users.owner)).resolves.toBeDefined();
    streams[0]!.close();
    await expect(open(seeded.users.chatter)).resolves.toBeDefined();
  });

  test('six streams opened at once: exactly one is refused', async () => {
    const results = await Promise.allSettled([1, 2, 3, 4, 5, 6].map(() => open(seeded.users.manager)));
    expect(results.filter((result) => result.status === 'rejected')).toHaveLength(1);
  });

  test('shutdown ends every stream with a reconnect hint after what was waiting, and refuses new ones', async () => {
    const stream = await open(seeded.users.owner);
    hub.poke(change(seeded.account.id, '12345', 9));
    hub.close();
    const { seen, done } = collect(stream);
    await done;
    expect(seen).toEqual([
      { type: 'change', accountId: seeded.account.id, fanId: '12345', version: 9 },
      { type: 'end', reason: 'shutdown', retryAfterMs: 1500 },
    ]);
    await expect(open(seeded.users.owner)).rejects.toMatchObject({ apiCode: 'service_unavailable' });
  });

  test('a resync reaches every stream and replaces what was waiting', async () => {
    const stream = await open(seeded.users.owner);
    const { id: accountId } = seeded.account;
    hub.poke(change(accountId, '1', 1));
    hub.poke(change(accountId, '2', 1));
    hub.resync('listener reconnected');
    hub.poke(change(accountId, '3', 1));
    expect(await stream.next()).toEqual({ value: { type: 'resync' }, done: false });
    expect(await stream.next()).toEqual({
      value: { type: 'change', accountId, fanId: '3', version: 1 },
      done: false,
    });
  });

  test('a consumer that falls behind gets one resync instead of a growing queue', async () => {
    const small = new LiveHub({
      clock,
      maxQueued: 3,
      loadMemberships: (userIds) => accountsOfUsers(app.database.db, userIds),
    });
    try {
      const stream = await small.subscribe({ userId: seeded.users.owner, expiresAt: clock.now() + HOUR });
      const { id: accountId } = seeded.account;
      for (const fanId of ['1', '2', '3', '4', '5']) small.poke(change(accountId, fanId, 1));
      await clock.advance(25); // past the hub's coalescing window
      small.poke(change(accountId, '5', 2)); // replaces the waiting poke of fan 5
      small.close();
      const { seen, done } = collect(stream);
      await done;
      expect(seen).toEqual([
        { type: 'resync' },
        { type: 'change', accountId, fanId: '5', version: 2 },
        { type: 'end', reason: 'shutdown', retryAfterMs: expect.any(Number) },
      ]);
    } finally {
      small.close();
    }
  });
});
