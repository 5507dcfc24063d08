import { HEARTBEAT_INTERVAL_MS as HEARTBEAT } from '@fannotes/contract';
import { encodeCursor } from '@fannotes/sync-core';
import { beforeEach, describe, expect, test } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { ACCOUNT, FAN, USER, fakeJwt, syncData } from '../test/helpers.ts';
import { FakeClock, fakeEventsApi, poke, settle } from '../test/live-fakes.ts';
import { applySyncData } from './apply-sync.ts';
import { SILENCE_MS } from './live-stream.ts';
import { LiveUpdates } from './live-updates.ts';
import { POLL_INTERVAL_MS } from './messages.ts';
import { KEYS, emptyView, viewKey, type FanView, type LiveStatus } from './model.ts';
import { statusLabel } from './status-label.ts';
import type { Session } from './runner.ts';
import { store } from './store.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const OTHER = '100000456';
const API = 'http://127.0.0.1:3000';
const TOKEN = fakeJwt({ sub: USER, exp: T0 / 1000 + 3600 });

/** LiveUpdates on WXT's fake storage, a fake clock and a fake `GET /api/v2/events`. */
function setup() {
  const clock = new FakeClock(T0);
  const api = fakeEventsApi();
  const pulls: string[] = [];
  let session: Session = { ok: true, token: TOKEN, userId: USER };
  /** Set to hold pulls in flight until `release()`. */
  let gate: (() => void)[] | null = null;
  const live = new LiveUpdates({
    store,
    session: () => Promise.resolve(session),
    apiUrl: () => Promise.resolve(API),
    fetch: api.fetch,
    pull: (fanId) => {
      pulls.push(fanId);
      return gate ? new Promise<void>((resolve) => gate!.push(resolve)) : Promise.resolve();
    },
    now: () => clock.now,
    random: () => 0.5,
    after: clock.after,
  });
  return {
    live,
    clock,
    api,
    pulls,
    /** Pulls resolved since the last call, then forgotten. */
    takePulls: () => pulls.splice(0),
    setSession: (next: Session) => (session = next),
    holdPulls: () => (gate = []),
    release: async () => {
      const waiting = gate!.splice(0);
      for (const resolve of waiting) resolve();
      await settle();
    },
    /** A panel showing `fanId`, visible unless told, connected and settled. */
    show: async (panel: object, fanId: string | null, visible = true) => {
      live.panelChanged(panel, { fanId, visible });
      await settle();
    },
  };
}

async function cacheView(fanId: string, version: number, fields: Partial<FanView> = {}) {
  await store.set({
    [viewKey(fanId)]: { ...emptyView(fanId), accountId: ACCOUNT, cursor: encodeCursor(version), ...fields },
  });
}

const view = async (fanId: string) => store.get<FanView>(viewKey(fanId));

beforeEach(() => fakeBrowser.reset());

describe('pokes', () => {
  test('a poke for the fan a panel shows pulls it; one its cached notes already hold does not', async () => {
    const t = setup();
    await cacheView(FAN, 3);
    await t.show({}, FAN);
    expect(t.api.requests).toMatchObject([{ url: `${API}/api/v2/events`, authorization: `Bearer ${TOKEN}` }]);
    expect(t.live.status).toBe('open');
    expect((await store.get<LiveStatus>(KEYS.live))?.state).toBe('open');
    // Opening the stream reads the shown fan once (pokes sent before it opened are lost).
    expect(t.takePulls()).toEqual([FAN]);

    t.api.stream.send(poke(FAN, 4, ACCOUNT));
    await settle();
    expect(t.takePulls()).toEqual([FAN]);

    t.api.stream.send(poke(FAN, 3, ACCOUNT));
    // The same fan id in another of the user's accounts is another fan.
    t.api.stream.send(poke(FAN, 9, '0b6f3c1e-0000-4000-8000-000000000999'));
    await settle();
    expect(t.takePulls()).toEqual([]);
  });

  test('a poke for a cached fan no panel shows marks it stale without a pull; its next answer clears that', async () => {
    const t = setup();
    await cacheView(OTHER, 2);
    await t.show({}, FAN);
    t.takePulls();

    t.api.stream.send(poke(OTHER, 5, ACCOUNT));
    t.api.stream.send(poke('100000789', 1, ACCOUNT)); // never opened here: nothing to mark
    await settle();
    expect(t.takePulls()).toEqual([]);
    const stale = (await view(OTHER))!;
    expect(stale.staleVersion).toBe(5);
    expect(await view('100000789')).toBeUndefined();
    // Opening that fan shows that its notes are being brought up to date.
    const synced = { state: 'idle' as const, message: null, retryAt: null };
    expect(statusLabel(synced, 0, stale.staleVersion != null).text).toBe('Updating…');

    const behind = applySyncData(stale, syncData({ cursor: encodeCursor(4), reset: false }), {
      notice: null,
      forced: false,
      now: T0,
    });
    expect(behind.staleVersion).toBe(5);
    const caughtUp = applySyncData(stale, syncData({ cursor: encodeCursor(5), reset: false }), {
      notice: null,
      forced: false,
      now: T0,
    });
    expect(caughtUp.staleVersion).toBeUndefined();
  });

  test('a burst of pokes for one fan: one pull in flight and one queued, never more', async () => {
    const t = setup();
    await cacheView(FAN, 3);
    await t.show({}, FAN);
    await settle();
    t.takePulls();
    t.holdPulls();
    for (let version = 4; version < 14; version++) t.api.stream.send(poke(FAN, version, ACCOUNT));
    await settle();
    expect(t.takePulls()).toEqual([FAN]);
    await t.release();
    expect(t.takePulls()).toEqual([FAN]);
    await t.release();
    expect(t.takePulls()).toEqual([]);
  });

  test('resync pulls every fan a panel shows, visible or not', async () => {
    const t = setup();
    await t.show({}, FAN);
    await t.show({}, OTHER, false);
    t.takePulls();
    t.api.stream.send('event: resync\ndata: {}\n\n');
    await settle();
    expect(t.takePulls().sort()).toEqual([FAN, OTHER].sort());
  });

  test('malformed events are skipped and the stream goes on', async () => {
    const t = setup();
    await cacheView(FAN, 3);
    await t.show({}, FAN);
    t.takePulls();
    t.api.stream.send('data: not json\n\n');
    t.api.stream.send('data: {"fanId":1}\n\n');
    t.api.stream.send(`data: {"accountId":"${ACCOUNT}","fanId":"${FAN}","version":4.5}\n\n`);
    t.api.stream.send('event: end\ndata: {"reason":"tired","retryAfterMs":5}\n\n');
    t.api.stream.send('event: end\ndata: []\n\n');
    t.api.stream.send('event: party\ndata: {}\n\n');
    t.api.stream.send('bogus-field: 1\n: ping\n\n');
    await settle();
    expect(t.takePulls()).toEqual([]);
    t.api.stream.send(poke(FAN, 4, ACCOUNT));
    await settle();
    expect(t.takePulls()).toEqual([FAN]);
    expect(t.api.requests).toHaveLength(1);
    expect(t.live.status).toBe('open');
  });
});

describe('the stream and the poll', () => {
  test('while the stream is down visible fans are polled every 20 s; once it is up, never', async () => {
    const t = setup();
    t.api.answer({ status: 503, code: 'service_unavailable', headers: { 'retry-after': '90' } });
    await t.show({}, FAN);
    await t.show({}, OTHER, false); // a tab in the background is not polled
    expect(t.live.status).toBe('waiting');
    expect(t.takePulls()).toEqual([]);
    await t.clock.advance(POLL_INTERVAL_MS);
    expect(t.takePulls()).toEqual([FAN]);
    await t.clock.advance(POLL_INTERVAL_MS);
    expect(t.takePulls()).toEqual([FAN]);
    // Not before the 90 s the server asked for.
    await t.clock.advance(89_999 - 2 * POLL_INTERVAL_MS);
    expect(t.api.requests).toHaveLength(1);
    expect(t.takePulls()).toEqual([FAN, FAN]); // at 60 s and 80 s
    await t.clock.advance(1_001);
    expect(t.api.requests).toHaveLength(2);
    expect(t.live.status).toBe('open');
    // The reopened stream read both shown fans once, and the poll stopped.
    expect(t.takePulls().sort()).toEqual([FAN, OTHER].sort());
    for (let i = 0; i < 8; i++) {
      await t.clock.advance(HEARTBEAT);
      t.api.stream.send(': ping\n\n');
    }
    expect(t.takePulls()).toEqual([]);
    expect(t.api.requests).toHaveLength(2);
  });

  test('offline: reconnects with a growing jittered backoff (at once when the network is back), and a silent stream is dropped', async () => {
    const t = setup();
    t.api.answer('offline', 'offline', 'offline');
    await t.show({}, FAN);
    // Backoff with random 0.5: 750 ms, 1.5 s, 3 s.
    await t.clock.advance(749);
    expect(t.api.requests).toHaveLength(1);
    await t.clock.advance(1);
    expect(t.api.requests).toHaveLength(2);
    await t.clock.advance(1_500);
    expect(t.api.requests).toHaveLength(3);
    // The network is back: the 3 s wait is not waited out.
    t.live.retryNow();
    await settle();
    expect(t.api.requests).toHaveLength(4);
    expect(t.live.status).toBe('open');
    // Nothing at all, not even a ping, for a minute: the connection is dead; it is made again.
    await t.clock.advance(SILENCE_MS);
    expect(t.api.requests[3]!.stream!.cancelled).toBe(true);
    await t.clock.advance(10_000);
    expect(t.api.requests).toHaveLength(5);
  });

  test('a request with no answer at all is given up after a minute and made again', async () => {
    const t = setup();
    t.api.answer('hang');
    await t.show({}, FAN);
    expect(t.live.status).toBe('connecting');
    await t.clock.advance(SILENCE_MS - 1);
    expect(t.api.requests).toHaveLength(1);
    await t.clock.advance(1 + 750); // given up, then the first backoff step
    expect(t.api.requests).toHaveLength(2);
    expect(t.live.status).toBe('open');
  });

  test('end (shutdown): reconnects after retryAfterMs, not before; end (token_expired): with the new token', async () => {
    const t = setup();
    await t.show({}, FAN);
    t.api.stream.send('retry: 2000\nevent: end\ndata: {"reason":"shutdown","retryAfterMs":2000}\n\n');
    t.api.stream.close();
    await t.clock.advance(1_999);
    expect(t.api.requests).toHaveLength(1);
    expect(t.live.status).toBe('waiting');
    await t.clock.advance(400); // plus up to 20 % of jitter
    expect(t.api.requests).toHaveLength(2);
    expect(t.live.status).toBe('open');

    const fresh = fakeJwt({ sub: USER, exp: T0 / 1000 + 7200 });
    t.setSession({ ok: true, token: fresh, userId: USER });
    t.api.stream.send('event: end\ndata: {"reason":"token_expired","retryAfterMs":0}\n\n');
    await t.clock.advance(0);
    expect(t.api.requests).toHaveLength(3);
    expect(t.api.requests[2]!.authorization).toBe(`Bearer ${fresh}`);
  });

  test('401: one attempt, then none (and no polling) until the session changes', async () => {
    const t = setup();
    t.api.answer({ status: 401, code: 'authentication_required' });
    await t.show({}, FAN);
    expect(t.live.status).toBe('signed-out');
    await t.clock.advance(30 * 60_000);
    expect(t.api.requests).toHaveLength(1);
    expect(t.takePulls()).toEqual([]);

    await t.live.sessionChanged();
    await settle();
    expect(t.api.requests).toHaveLength(2);
    expect(t.live.status).toBe('open');
  });

  test('signed out: no request at all until the session changes', async () => {
    const t = setup();
    t.setSession({ ok: false, message: 'Sign in', userId: null });
    await t.show({}, FAN);
    await t.clock.advance(10 * 60_000);
    expect(t.api.requests).toHaveLength(0);
    t.setSession({ ok: true, token: TOKEN, userId: USER });
    await t.live.sessionChanged();
    await settle();
    expect(t.api.requests).toHaveLength(1);
  });

  test('an open stream moves to a new token, and stays when an unrelated cookie changes', async () => {
    const t = setup();
    await t.show({}, FAN);
    await t.live.sessionChanged();
    await settle();
    expect(t.api.requests).toHaveLength(1);
    const fresh = fakeJwt({ sub: USER, exp: T0 / 1000 + 7200 });
    t.setSession({ ok: true, token: fresh, userId: USER });
    await t.live.sessionChanged();
    await settle();
    expect(t.api.requests[0]!.stream!.cancelled).toBe(true);
    expect(t.api.requests).toHaveLength(2);
    expect(t.api.requests[1]!.authorization).toBe(`Bearer ${fresh}`);
  });

  test('a Retry-After wait is not cut short by an unrelated cookie change or the network, but is by a new token', async () => {
    const t = setup();
    t.api.answer({ status: 429, code: 'rate_limit_exceeded', headers: { 'retry-after': '60' } });
    await t.show({}, FAN);
    expect(t.live.status).toBe('waiting');
    await t.live.sessionChanged();
    t.live.retryNow(); // nor by the network coming back
    await t.clock.advance(30_000);
    expect(t.api.requests).toHaveLength(1);
    const fresh = fakeJwt({ sub: USER, exp: T0 / 1000 + 7200 });
    t.setSession({ ok: true, token: fresh, userId: USER });
    await t.live.sessionChanged();
    await settle();
    expect(t.api.requests).toHaveLength(2);
    expect(t.api.requests[1]!.authorization).toBe(`Bearer ${fresh}`);
  });

  test('the last panel gone closes the stream, and nothing reconnects or polls', async () => {
    const t = setup();
    const first = {};
    const second = {};
    await t.show(first, FAN);
    await t.show(second, OTHER);
    t.live.panelChanged(first, null);
    await settle();
    expect(t.api.stream.cancelled).toBe(false);
    t.live.panelChanged(second, null);
    await settle();
    expect(t.api.stream.cancelled).toBe(true);
    expect(t.live.status).toBe('idle');
    t.takePulls();
    await t.clock.advance(10 * 60_000);
    expect(t.api.requests).toHaveLength(1);
    expect(t.takePulls()).toEqual([]);
    // A panel again (the worker woke for it): one stream again.
    await t.show({}, FAN);
    expect(t.api.requests).toHaveLength(2);
    expect(t.live.status).toBe('open');
  });
});
