import type { LiveEvent } from '@fannotes/contract';
import { fans } from '@fannotes/db';
import { createTRPCClient, httpLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import { eq, sql } from 'drizzle-orm';
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ApiError } from '../src/errors.ts';
import { systemClock } from '../src/live/hub.ts';
import { startLive, type Live } from '../src/live/start.ts';
import type { AppRouter } from '../src/root.ts';
import { mintToken } from '../src/auth/dev-keys.ts';
import { openEventStream } from './event-stream.ts';
import { createTestApp, ISSUER, seedAccount, type TestApp } from './harness.ts';

/** The next event of a stream, or a failure after `ms` (a bound on waiting, not a sleep). */
async function nextWithin<T>(iterator: AsyncIterator<T>, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no event within ${ms} ms`)), ms);
  });
  try {
    const result = await Promise.race([iterator.next(), timeout]);
    if (result.done) throw new Error('the stream ended');
    return result.value;
  } finally {
    clearTimeout(timer);
  }
}

/** Whether a pending `next()` has settled once every callback already due has run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

/** Live updates for a test app: the hub reads token expiry against the app's fixed clock; its timers are real. */
async function startTestLive(app: TestApp) {
  const live = await startLive({
    database: app.database,
    logger: app.deps.logger,
    hub: { clock: { ...systemClock, now: () => app.clock.now().getTime() }, random: () => 0 },
    probeIntervalMs: 0,
  });
  app.deps.live = live.hub;
  return live;
}

describe('notes.changes: writes through the API reach streams as pokes (trigger, LISTEN, hub, tRPC)', () => {
  let app: TestApp;
  let live: Live;
  let team: Awaited<ReturnType<typeof seedAccount>>;
  let other: Awaited<ReturnType<typeof seedAccount>>;

  beforeAll(async () => {
    app = await createTestApp();
    live = await startTestLive(app);
    team = await seedAccount(app, '12345');
    other = await seedAccount(app, '777');
  });
  afterAll(async () => {
    await live?.close();
    await app?.close();
  });

  const subscribe = async (userId: string, input?: { fanId: string; accountId?: string }) =>
    (await (await app.caller(userId)).notes.changes(input))[Symbol.asyncIterator]();

  test("a committed write reaches a teammate's stream as { accountId, fanId, version }", async () => {
    const stream = await subscribe(team.users.viewer);
    const note = await (await app.caller(team.users.chatter)).notes.update({ fanId: '12345', content: 'hi' });
    expect(await nextWithin(stream)).toEqual({
      type: 'change',
      accountId: team.account.id,
      fanId: '12345',
      version: note.data.version,
    } satisfies LiveEvent);
    await stream.return?.();
  });

  test('a rolled back version bump is never poked', async () => {
    const stream = await subscribe(other.users.owner);
    const rollback = new Error('rolled back');
    await expect(
      app.database.db.transaction(async (tx) => {
        await tx
          .update(fans)
          .set({ version: sql`${fans.version} + 1` })
          .where(eq(fans.id, other.fan.id));
        throw rollback;
      }),
    ).rejects.toBe(rollback);
    // The sync point: a committed write to another fan of the account must be the first thing heard.
    const now = app.clock.now();
    await app.database.db
      .insert(fans)
      .values({ accountId: other.account.id, fanId: '779', createdAt: now, updatedAt: now });
    await (
      await app.caller(other.users.chatter)
    ).notes.update({ fanId: '779', content: 'after the rollback' });
    expect(await nextWithin(stream)).toEqual({
      type: 'change',
      accountId: other.account.id,
      fanId: '779',
      version: 1,
    });
    await stream.return?.();
  });

  test('a member removed from the account stops getting its pokes at the next membership refresh (at most 2 s)', async () => {
    const removed = await subscribe(team.users.manager);
    const staying = await subscribe(team.users.chatter);
    await (
      await app.caller(team.users.owner)
    ).accounts.removeMember({
      accountId: team.account.id,
      userId: team.users.manager,
    });
    await live.hub.refreshMemberships(); // what the hub's 2 s timer does
    const pending = removed.next();
    await (await app.caller(team.users.chatter)).notes.update({ fanId: '12345', content: 'not for you' });
    expect(await nextWithin(staying)).toMatchObject({ type: 'change', fanId: '12345' });
    expect(await settled(pending)).toBe(false);
  });

  test('a fan filter naming a fan of another account answers exactly as an unknown fan', async () => {
    const outsider = await app.caller(other.users.owner);
    const foreign = await outsider.notes.changes({ fanId: '12345' }).catch((error: unknown) => error);
    const unknown = await outsider.notes.changes({ fanId: '424242' }).catch((error: unknown) => error);
    expect(foreign).toBeInstanceOf(ApiError);
    expect({ ...(foreign as ApiError), message: (foreign as ApiError).message }).toEqual({
      ...(unknown as ApiError),
      message: (unknown as ApiError).message,
    });
    expect((foreign as ApiError).apiCode).toBe('resource_not_found');
  });

  test("a filtered stream hears its fan only, and open streams take no in-flight slot of the user's", async () => {
    // Four requests may run at once per user (the harness's default); five streams stay open.
    const streams = await Promise.all(
      [1, 2, 3, 4].map(() => subscribe(other.users.viewer, { fanId: '777', accountId: other.account.id })),
    );
    const unfiltered = await subscribe(other.users.viewer);
    const viewer = await app.caller(other.users.viewer);
    await expect(viewer.notes.sync({ fanId: '777' })).resolves.toMatchObject({ status: 'success' });
    await expect(viewer.notes.changes()).rejects.toMatchObject({ apiCode: 'rate_limit_exceeded' });

    const now = app.clock.now();
    await app.database.db
      .insert(fans)
      .values({ accountId: other.account.id, fanId: '778', createdAt: now, updatedAt: now });
    await (await app.caller(other.users.chatter)).notes.update({ fanId: '778', content: 'another fan' });
    expect(await nextWithin(unfiltered)).toMatchObject({ fanId: '778' });
    expect(await settled(streams[0]!.next())).toBe(false);
  });
});

describe('notes.changes over real HTTP (tRPC client, httpSubscriptionLink, the eventsource package)', () => {
  let app: TestApp;
  let live: Live;
  let team: Awaited<ReturnType<typeof seedAccount>>;
  let url: string;

  beforeAll(async () => {
    app = await createTestApp();
    live = await startTestLive(app);
    team = await seedAccount(app, '12345');
    url = await app.listen();
  });
  afterAll(async () => {
    await live?.close();
    await app?.close();
  });

  test('a REST write reaches the stream; shutdown ends it with a reconnect hint', async () => {
    const token = await app.token(team.users.viewer);
    const client = createTRPCClient<AppRouter>({
      links: [
        splitLink({
          condition: (op) => op.type === 'subscription',
          true: httpSubscriptionLink({
            url: `${url}/trpc`,
            EventSource,
            eventSourceOptions: () => ({
              fetch: (input, init) =>
                fetch(input, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } }),
            }),
          }),
          false: httpLink({ url: `${url}/trpc`, headers: { authorization: `Bearer ${token}` } }),
        }),
      ],
    });
    const events: LiveEvent[] = [];
    let wake: () => void = () => {};
    const arrived = (count: number) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${events.length} of ${count} events`)), 10_000);
        wake = () => {
          if (events.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        };
        wake();
      });
    let completed = false;
    const started = new Promise<void>((resolve) => {
      const subscription = client.notes.changes.subscribe(undefined, {
        onStarted: () => resolve(),
        onData: (event) => {
          events.push(event);
          wake();
        },
        onComplete: () => {
          completed = true;
          wake();
        },
      });
      void subscription;
    });
    await started;

    const response = await fetch(`${url}/api/v2/update-note`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await app.token(team.users.chatter)}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ fanId: '12345', content: 'over REST' }),
    });
    expect(response.status).toBe(200);
    await arrived(1);
    expect(events).toEqual([{ type: 'change', accountId: team.account.id, fanId: '12345', version: 1 }]);

    await live.close();
    await arrived(2);
    expect(events[1]).toEqual({ type: 'end', reason: 'shutdown', retryAfterMs: 1000 });
    await expect.poll(() => completed).toBe(true);
    expect(live.hub.size).toBe(0);
  });
});

describe('GET /api/v2/events: the REST twin of notes.changes (real HTTP, the eventsource package)', () => {
  let app: TestApp;
  let live: Live;
  let team: Awaited<ReturnType<typeof seedAccount>>;
  let other: Awaited<ReturnType<typeof seedAccount>>;
  let url: string;

  beforeAll(async () => {
    app = await createTestApp({ eventsPingMs: 200 });
    live = await startTestLive(app);
    team = await seedAccount(app, '12345');
    other = await seedAccount(app, '777');
    url = await app.listen();
  });
  afterAll(async () => {
    await live?.close();
    await app?.close();
  });

  const get = async (path: string, userId: string | null) =>
    fetch(`${url}${path}`, {
      headers: userId ? { authorization: `Bearer ${await app.token(userId)}` } : {},
    });
  const writeNote = async (userId: string, fanId: string, content: string) => {
    const response = await fetch(`${url}/api/v2/update-note`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await app.token(userId)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ fanId, content }),
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { data: { version: number } }).data;
  };

  test("a teammate's REST write arrives as an unnamed event whose data is { accountId, fanId, version }", async () => {
    const stream = await openEventStream(url, await app.token(team.users.viewer));
    try {
      const note = await writeNote(team.users.chatter, '12345', 'seen live');
      expect(await stream.next()).toMatchObject({
        type: 'message',
        data: { accountId: team.account.id, fanId: '12345', version: note.version },
      });
    } finally {
      stream.close();
    }
  });

  test('the answer is an uncached event stream that starts at once, and an idle stream carries `: ping` comments', async () => {
    const response = await get('/api/v2/events', team.users.viewer);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(response.headers.get('x-request-id')).toBeTruthy();
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes(': ping\n\n')) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended: ${text}`);
      text += value;
    }
    expect(text.startsWith('retry: 2000\n\n')).toBe(true);
    await reader.cancel();
  });

  test('refusals before the stream are the documented JSON envelope: 401, 404 (a foreign fan as an unknown one), 400', async () => {
    const anonymous = await get('/api/v2/events', null);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({
      status: 'error',
      error: { code: 'authentication_required' },
    });

    const foreign = await get('/api/v2/events?fanId=12345', other.users.owner);
    const unknown = await get('/api/v2/events?fanId=424242', other.users.owner);
    expect([foreign.status, unknown.status]).toEqual([404, 404]);
    const bodyOf = async (response: Response) => {
      const body = (await response.json()) as { error: { details?: Record<string, unknown> } };
      delete body.error.details?.requestId;
      return body;
    };
    expect(await bodyOf(foreign)).toEqual(await bodyOf(unknown));

    for (const query of ['?bogus=1', '?fanId=1&fanId=2', '?fanId=abc', '?accountId=1']) {
      const refused = await get(`/api/v2/events${query}`, team.users.viewer);
      expect({ query, status: refused.status }).toEqual({ query, status: 400 });
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('validation_error');
    }
    expect(live.hub.size).toBe(0);
  });

  test('a filtered stream hears only its fan', async () => {
    const now = app.clock.now();
    await app.database.db
      .insert(fans)
      .values({ accountId: team.account.id, fanId: '12346', createdAt: now, updatedAt: now });
    const stream = await openEventStream(url, await app.token(team.users.viewer), '?fanId=12346');
    try {
      await writeNote(team.users.chatter, '12345', 'another fan');
      const note = await writeNote(team.users.chatter, '12346', 'this fan');
      expect(await stream.next()).toMatchObject({ data: { fanId: '12346', version: note.version } });
      expect(stream.waiting).toBe(0);
    } finally {
      stream.close();
    }
  });

  test('one stream too many is 429 with Retry-After; a client that leaves frees its slot at once', async () => {
    const token = await app.token(other.users.viewer);
    const streams = await Promise.all([1, 2, 3, 4, 5].map(() => openEventStream(url, token)));
    const refused = await get('/api/v2/events', other.users.viewer);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('rate_limit_exceeded');

    streams.pop()!.close();
    await expect.poll(() => live.hub.size).toBe(4);
    const again = await openEventStream(url, token);
    for (const stream of [...streams, again]) stream.close();
    await expect.poll(() => live.hub.size).toBe(0);
  });

  test('the stream never outlives its token: it ends with `event: end` token_expired at exp', async () => {
    // A token valid for one more second of the app's clock.
    const token = await mintToken({
      secret: app.secret,
      issuer: ISSUER,
      userId: team.users.viewer,
      now: Math.floor(app.clock.now().getTime() / 1000),
      expiresInSec: 1,
    });
    const stream = await openEventStream(url, token);
    try {
      expect(await stream.next(5_000)).toMatchObject({
        type: 'end',
        data: { reason: 'token_expired', retryAfterMs: 0 },
      });
    } finally {
      stream.close();
    }
  });

  test('the OpenAPI document describes the stream', async () => {
    const document = (await (await fetch(`${url}/api/openapi.json`)).json()) as {
      paths: Record<string, { get?: { responses: Record<string, { content?: Record<string, unknown> }> } }>;
    };
    const operation = document.paths['/v2/events']?.get;
    expect(Object.keys(operation?.responses ?? {})).toEqual(['200', '400', '401', '404', '429', '503']);
    expect(Object.keys(operation!.responses['200']!.content!)).toEqual(['text/event-stream']);
  });

  test('shutdown ends every open stream with `event: end` and a reconnect hint', async () => {
    const stream = await openEventStream(url, await app.token(team.users.owner));
    await live.close();
    expect(await stream.next()).toMatchObject({
      type: 'end',
      data: { reason: 'shutdown', retryAfterMs: 1000 },
    });
    const after = await get('/api/v2/events', team.users.owner);
    expect(after.status).toBe(503);
    expect(after.headers.get('retry-after')).toBeTruthy();
  });
});
