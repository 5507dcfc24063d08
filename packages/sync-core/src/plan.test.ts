import fc from 'fast-check';
import { expect, test } from 'vitest';
import { fcParams } from '../test/fast-check.ts';
import { afterFullSync, planSync, type FanSyncState, type SyncPlan } from './plan.ts';
import { defaultThrottlePolicy, type ThrottlePolicy } from './throttle.ts';

const T = 1_800_000_000_000;
const DAY = 86_400_000;
const never: FanSyncState = { lastFullSyncAt: null, lastForcedSyncAt: null };

test.each<{ name: string; state: FanSyncState; force?: boolean; hasChanges?: boolean; plan: SyncPlan }>([
  {
    name: 'a fan never synced is synced at once',
    state: never,
    plan: { action: 'full', reason: 'first', nextSyncAt: T + 30_000 },
  },
  {
    name: 'a sync 30 s after the last one is due',
    state: { lastFullSyncAt: T - 30_000, lastForcedSyncAt: null },
    plan: { action: 'full', reason: 'due', nextSyncAt: T + 30_000 },
  },
  {
    name: 'a sync 10 s after the last one is throttled until 30 s have passed',
    state: { lastFullSyncAt: T - 10_000, lastForcedSyncAt: null },
    plan: { action: 'throttled', nextSyncAt: T + 20_000 },
  },
  {
    name: 'changes are processed 1 s after the last sync',
    state: { lastFullSyncAt: T - 1_000, lastForcedSyncAt: null },
    hasChanges: true,
    plan: { action: 'full', reason: 'changes', nextSyncAt: T + 30_000 },
  },
  {
    name: 'changes are processed even when forced inside the floor',
    state: { lastFullSyncAt: T - 1_000, lastForcedSyncAt: T - 1_000 },
    force: true,
    hasChanges: true,
    plan: { action: 'full', reason: 'changes', nextSyncAt: T + 30_000 },
  },
  {
    name: 'forcing 10 s after the last forced sync runs a full sync inside the interval',
    state: { lastFullSyncAt: T - 10_000, lastForcedSyncAt: T - 10_000 },
    force: true,
    plan: { action: 'full', reason: 'forced', nextSyncAt: T + 30_000 },
  },
  {
    name: 'forcing a fan never forced runs at once, even right after a sync',
    state: { lastFullSyncAt: T - 1_000, lastForcedSyncAt: null },
    force: true,
    plan: { action: 'full', reason: 'forced', nextSyncAt: T + 30_000 },
  },
  {
    name: 'forcing 2 s after the last forced sync is refused for the 3 s left',
    state: { lastFullSyncAt: T - 2_000, lastForcedSyncAt: T - 2_000 },
    force: true,
    plan: { action: 'reject', retryAfterMs: 3_000, nextSyncAt: T + 3_000 },
  },
  {
    name: 'forcing exactly 5 s after the last forced sync is allowed',
    state: { lastFullSyncAt: T - 5_000, lastForcedSyncAt: T - 5_000 },
    force: true,
    plan: { action: 'full', reason: 'forced', nextSyncAt: T + 30_000 },
  },
  {
    name: 'a sync stamped 10 s ahead by a skewed clock throttles for one interval from now',
    state: { lastFullSyncAt: T + 10_000, lastForcedSyncAt: null },
    plan: { action: 'throttled', nextSyncAt: T + 30_000 },
  },
  {
    name: 'a sync stamped 3 days ahead (the clock went back) does not throttle the fan',
    state: { lastFullSyncAt: T + 3 * DAY, lastForcedSyncAt: null },
    plan: { action: 'full', reason: 'due', nextSyncAt: T + 30_000 },
  },
  {
    name: 'a forced sync stamped 2 s ahead refuses forcing for one floor from now',
    state: { lastFullSyncAt: T + 2_000, lastForcedSyncAt: T + 2_000 },
    force: true,
    plan: { action: 'reject', retryAfterMs: 5_000, nextSyncAt: T + 5_000 },
  },
  {
    name: 'a forced sync stamped an hour ahead (the clock went back) does not block forcing',
    state: { lastFullSyncAt: T + 3_600_000, lastForcedSyncAt: T + 3_600_000 },
    force: true,
    plan: { action: 'full', reason: 'forced', nextSyncAt: T + 30_000 },
  },
])('$name', ({ state, force = false, hasChanges = false, plan }) => {
  expect(planSync({ state, force, hasChanges, now: T, policy: defaultThrottlePolicy })).toEqual(plan);
});

test.each<{ name: string; state: FanSyncState; forced: boolean; after: FanSyncState }>([
  {
    name: 'a plain sync records its time and keeps the last forced time',
    state: { lastFullSyncAt: T - 60_000, lastForcedSyncAt: T - 90_000 },
    forced: false,
    after: { lastFullSyncAt: T, lastForcedSyncAt: T - 90_000 },
  },
  {
    name: 'a forced sync records both times',
    state: { lastFullSyncAt: T - 60_000, lastForcedSyncAt: null },
    forced: true,
    after: { lastFullSyncAt: T, lastForcedSyncAt: T },
  },
  {
    name: 'a first sync of a fan leaves it never forced',
    state: never,
    forced: false,
    after: { lastFullSyncAt: T, lastForcedSyncAt: null },
  },
  {
    name: 'a forced time left ahead by a clock that went back is pulled back to now',
    state: { lastFullSyncAt: T + DAY, lastForcedSyncAt: T + DAY },
    forced: false,
    after: { lastFullSyncAt: T, lastForcedSyncAt: T },
  },
])('$name', ({ state, forced, after }) => {
  expect(afterFullSync(state, { now: T, forced })).toEqual(after);
});

const policyArb: fc.Arbitrary<ThrottlePolicy> = fc.record({
  minIntervalMs: fc.integer({ min: 0, max: 120_000 }),
  forceFloorMs: fc.integer({ min: 0, max: 60_000 }),
});
const nowArb = fc.integer({ min: 1_000_000_000_000, max: 2_000_000_000_000 });
// Stamps near `now` (both sides, to hit the interval edges) and far from it (a clock that jumped).
const offsetArb = fc.oneof(
  fc.integer({ min: -150_000, max: 150_000 }),
  fc.integer({ min: -30 * DAY, max: 30 * DAY }),
);
const stateArb = (now: number): fc.Arbitrary<FanSyncState> =>
  fc.record({
    lastFullSyncAt: fc.option(
      offsetArb.map((offset) => now + offset),
      { nil: null },
    ),
    lastForcedSyncAt: fc.option(
      offsetArb.map((offset) => now + offset),
      { nil: null },
    ),
  });
const requestArb = nowArb.chain((now) =>
  fc.record({
    now: fc.constant(now),
    state: stateArb(now),
    force: fc.boolean(),
    hasChanges: fc.boolean(),
    policy: policyArb,
  }),
);

test('a request with changes is never throttled or refused', () => {
  fc.assert(
    fc.property(requestArb, (request) => {
      expect(planSync({ ...request, hasChanges: true })).toEqual({
        action: 'full',
        reason: 'changes',
        nextSyncAt: request.now + request.policy.minIntervalMs,
      });
    }),
    fcParams,
  );
});

test('no answer asks a caller to wait longer than one interval', () => {
  fc.assert(
    fc.property(requestArb, (request) => {
      const plan = planSync(request);
      const { now, policy } = request;
      if (plan.action === 'full') expect(plan.nextSyncAt).toBe(now + policy.minIntervalMs);
      if (plan.action === 'throttled') {
        expect(plan.nextSyncAt).toBeGreaterThan(now);
        expect(plan.nextSyncAt).toBeLessThanOrEqual(now + policy.minIntervalMs);
      }
      if (plan.action === 'reject') {
        expect(plan.retryAfterMs).toBeGreaterThan(0);
        expect(plan.retryAfterMs).toBeLessThanOrEqual(policy.forceFloorMs);
        expect(plan.nextSyncAt).toBe(now + plan.retryAfterMs);
      }
    }),
    fcParams,
  );
});

test('a second plain request inside the interval is throttled', () => {
  fc.assert(
    fc.property(
      requestArb,
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (request, fraction) => {
        const first = planSync(request);
        fc.pre(first.action === 'full' && request.policy.minIntervalMs > 0);
        const state = afterFullSync(request.state, { now: request.now, forced: request.force });
        const later = request.now + Math.floor(fraction * request.policy.minIntervalMs);
        expect(planSync({ ...request, state, force: false, hasChanges: false, now: later })).toEqual({
          action: 'throttled',
          nextSyncAt: request.now + request.policy.minIntervalMs,
        });
      },
    ),
    fcParams,
  );
});

test('a second forced request inside the floor is refused until the floor has passed', () => {
  fc.assert(
    fc.property(
      requestArb,
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (request, fraction) => {
        const first = planSync({ ...request, force: true });
        fc.pre(first.action === 'full' && request.policy.forceFloorMs > 0);
        const state = afterFullSync(request.state, { now: request.now, forced: true });
        const elapsed = Math.floor(fraction * request.policy.forceFloorMs);
        expect(
          planSync({ ...request, state, force: true, hasChanges: false, now: request.now + elapsed }),
        ).toEqual({
          action: 'reject',
          retryAfterMs: request.policy.forceFloorMs - elapsed,
          nextSyncAt: request.now + request.policy.forceFloorMs,
        });
      },
    ),
    fcParams,
  );
});

test('a fan is never wedged: coming back at nextSyncAt reaches a full sync within two intervals', () => {
  fc.assert(
    fc.property(requestArb, (request) => {
      // Throttled reads and refusals store nothing, so the state stays as it is between the calls.
      const wait = request.force ? request.policy.forceFloorMs : request.policy.minIntervalMs;
      let now = request.now;
      let plan = planSync({ ...request, now });
      for (let call = 0; call < 3 && plan.action !== 'full'; call++) {
        now = plan.nextSyncAt;
        plan = planSync({ ...request, now });
      }
      expect(plan.action).toBe('full');
      expect(now - request.now).toBeLessThanOrEqual(2 * wait);
    }),
    fcParams,
  );
});

test('with a clock that only moves forward, full syncs keep the interval and forced ones the floor', () => {
  const stepArb = fc.record({
    elapsedMs: fc.integer({ min: 0, max: 40_000 }),
    force: fc.boolean(),
    hasChanges: fc.boolean(),
  });
  fc.assert(
    fc.property(policyArb, nowArb, fc.array(stepArb, { maxLength: 40 }), (policy, start, steps) => {
      let state = never;
      let now = start;
      // Reference model: the times of the last full sync and the last forced one, kept independently.
      let lastFull: number | null = null;
      let lastForced: number | null = null;
      for (const step of steps) {
        now += step.elapsedMs;
        const plan = planSync({ state, force: step.force, hasChanges: step.hasChanges, now, policy });
        if (plan.action !== 'full') continue;
        if (plan.reason === 'due') expect(now - lastFull!).toBeGreaterThanOrEqual(policy.minIntervalMs);
        if (plan.reason === 'first') expect(lastFull).toBeNull();
        if (plan.reason === 'forced' && lastForced !== null) {
          expect(now - lastForced).toBeGreaterThanOrEqual(policy.forceFloorMs);
        }
        state = afterFullSync(state, { now, forced: step.force });
        lastFull = now;
        if (step.force) lastForced = now;
        expect(state).toEqual({ lastFullSyncAt: lastFull, lastForcedSyncAt: lastForced });
      }
    }),
    fcParams,
  );
});
