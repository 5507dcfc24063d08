import { expect, test } from 'vitest';
import { FakeClock } from '../test/live-fakes.ts';
import { LiveLink, RECONNECT_FLOOR_MS, type PortLike } from './live-link.ts';
import { KEEPALIVE_INTERVAL_MS, type PortMessage } from './messages.ts';

/** Ports as the background sees them: what each was told, and whether it is still connected. */
function setup() {
  const clock = new FakeClock(0);
  const ports: { messages: PortMessage[]; connected: boolean; break: () => void }[] = [];
  const link = new LiveLink({
    connect: () => {
      const listeners: (() => void)[] = [];
      const record = {
        messages: [] as PortMessage[],
        connected: true,
        // The worker was stopped: the panel's end of the port hears onDisconnect.
        break: () => {
          record.connected = false;
          for (const listener of listeners) listener();
        },
      };
      ports.push(record);
      const port: PortLike = {
        postMessage: (message) => {
          if (!record.connected) throw new Error('Attempting to use a disconnected port object');
          record.messages.push(message);
        },
        disconnect: () => {
          record.connected = false;
        },
        onDisconnect: { addListener: (listener) => listeners.push(listener) },
      };
      return port;
    },
    after: clock.after,
    now: () => clock.now,
  });
  return { link, clock, ports };
}

test('a shown fan opens one port that says what is shown and keeps the worker awake; no fan closes it', async () => {
  const { link, clock, ports } = setup();
  link.show(null, true);
  expect(ports).toHaveLength(0);
  link.show('1', true);
  link.show('1', false);
  link.show('2', true);
  expect(ports).toHaveLength(1);
  expect(ports[0]!.messages).toEqual([
    { type: 'showing', fanId: '1', visible: true },
    { type: 'showing', fanId: '1', visible: false },
    { type: 'showing', fanId: '2', visible: true },
  ]);
  await clock.advance(2 * KEEPALIVE_INTERVAL_MS);
  expect(ports[0]!.messages.slice(3)).toEqual([{ type: 'keepalive' }, { type: 'keepalive' }]);
  link.show(null, true);
  expect(ports[0]!.connected).toBe(false);
  await clock.advance(5 * KEEPALIVE_INTERVAL_MS);
  expect(ports).toHaveLength(1);
});

test('a port broken by a stopped worker is made again and says what is shown', async () => {
  const { link, clock, ports } = setup();
  link.show('1', true);
  await clock.advance(KEEPALIVE_INTERVAL_MS);
  ports[0]!.break();
  expect(ports).toHaveLength(2);
  expect(ports[1]!.messages).toEqual([{ type: 'showing', fanId: '1', visible: true }]);
  // The old port's keepalive is gone with it; the new one keeps its own.
  await clock.advance(KEEPALIVE_INTERVAL_MS);
  expect(ports[1]!.messages.at(-1)).toEqual({ type: 'keepalive' });
});

test('a port that breaks at once is made again no faster than once a second', async () => {
  const { link, clock, ports } = setup();
  link.show('1', true);
  ports[0]!.break();
  expect(ports).toHaveLength(1);
  await clock.advance(RECONNECT_FLOOR_MS - 1);
  expect(ports).toHaveLength(1);
  await clock.advance(1);
  expect(ports).toHaveLength(2);
});

test('closed (the content script was invalidated): the port goes and nothing makes it again', async () => {
  const { link, clock, ports } = setup();
  link.show('1', true);
  link.close();
  expect(ports[0]!.connected).toBe(false);
  link.show('1', true);
  await clock.advance(10 * KEEPALIVE_INTERVAL_MS);
  expect(ports).toHaveLength(1);
});
