import { openPostgres, fans, type DatabaseHandle } from '@fannotes/db';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { systemClock, type LiveSubscription } from '../src/live/hub.ts';
import { startLive, type Live } from '../src/live/start.ts';
import { createTestApp, seedAccount, type TestApp } from './harness.ts';

const WRITES = 200;

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

/**
 * Two database handles stand for two API processes: A (the test app) writes through the API, B holds
 * its own listening connection and hub, as a second process would. The latency printed is a measurement
 * on a shared machine, not an assertion; the benchmark scenario belongs in `pnpm bench`.
 */
describe.skipIf(!process.env.DATABASE_URL)('pokes across two handles on one PostgreSQL database', () => {
  let app: TestApp;
  let otherProcess: DatabaseHandle;
  let live: Live;
  let team: Awaited<ReturnType<typeof seedAccount>>;

  beforeAll(async () => {
    app = await createTestApp();
    otherProcess = await openPostgres({ url: app.database.url!, migrate: false, maxConnections: 2 });
    live = await startLive({
      database: otherProcess,
      logger: app.deps.logger,
      hub: { clock: { ...systemClock, now: () => app.clock.now().getTime() } },
    });
    team = await seedAccount(app, '1');
    const now = app.clock.now();
    await app.database.db.insert(fans).values(
      Array.from({ length: WRITES }, (_, index) => ({
        accountId: team.account.id,
        fanId: String(1000 + index),
        createdAt: now,
        updatedAt: now,
      })),
    );
  });
  afterAll(async () => {
    await live?.close();
    await otherProcess?.close();
    await app?.close();
  });

  test(`a write through handle A reaches a stream on handle B (${WRITES} writes, latency printed)`, async () => {
    const stream: LiveSubscription = await live.hub.subscribe({
      userId: team.users.viewer,
      expiresAt: app.clock.now().getTime() + 3600_000,
    });
    const writer = await app.caller(team.users.chatter);
    const fromStart: number[] = [];
    const afterAnswer: number[] = [];
    // One fan per write, so no poke waits in the hub's 25 ms coalescing window.
    for (let index = 0; index < WRITES; index++) {
      const fanId = String(1000 + index);
      const started = performance.now();
      const heard = stream.next().then((result) => ({ ...result, at: performance.now() }));
      await writer.notes.update({ fanId, content: `note ${index}` });
      const answered = performance.now();
      const { value, at: received } = await heard;
      expect(value).toEqual({ type: 'change', accountId: team.account.id, fanId, version: 1 });
      fromStart.push(received - started);
      afterAnswer.push(received - answered);
    }
    const sortedStart = [...fromStart].sort((a, b) => a - b);
    const sortedAnswer = [...afterAnswer].sort((a, b) => a - b);
    const ms = (value: number) => `${value.toFixed(2)} ms`;
    process.stdout.write(
      `\nlive poke latency over ${WRITES} writes (PostgreSQL, handle A writes through notes.update, ` +
        `handle B listens):\n` +
        `  write started -> poke received: p50 ${ms(percentile(sortedStart, 50))}, ` +
        `p95 ${ms(percentile(sortedStart, 95))}, max ${ms(sortedStart.at(-1)!)}\n` +
        `  write answered -> poke received: p50 ${ms(percentile(sortedAnswer, 50))}, ` +
        `p95 ${ms(percentile(sortedAnswer, 95))}, max ${ms(sortedAnswer.at(-1)!)} ` +
        `(negative: the poke came before the API's answer)\n`,
    );
    stream.close();
  });
});
