import { Readable } from 'node:stream';
import { HEARTBEAT_INTERVAL_MS, type ChangesInput, type LiveEvent } from '@fannotes/contract';
import type { AppDeps } from './context.ts';
import { contextOf } from './request-context.ts';
import { restInput } from './rest-routes.ts';
import { createCaller } from './root.ts';
import type { HttpServer } from './server.ts';

/** The documented path of the REST twin of `notes.changes` (and its OpenAPI key, under `/api`). */
export const EVENTS_PATH = '/v2/events';

/** How long an EventSource waits before reconnecting when the stream breaks without an `end` event. */
const RECONNECT_MS = 2_000;

/**
 * `GET /api/v2/events`: `notes.changes` as a `text/event-stream` (docs/PROTOCOL.md, "Live updates").
 * The procedure is called through `createCaller` before anything is written, so a bad token, a foreign
 * fan or one stream too many is the usual JSON envelope with its status; after that every event is a
 * frame: a poke as an unnamed event, `event: resync`, and last `event: end` after a `retry:` line. A
 * `: ping` comment goes out every `pingMs`. The client leaving closes the subscription at once (its
 * slot is free for the next connection).
 */
export function registerEventsRoute(app: HttpServer, deps: AppDeps, pingMs = HEARTBEAT_INTERVAL_MS): void {
  app.get(`/api${EVENTS_PATH}`, async (request, reply) => {
    const query = restInput('GET', request);
    const input = Object.keys(query).length === 0 ? undefined : query;
    const left = new AbortController();
    reply.raw.once('close', () => left.abort());
    // The procedure's own schema judges the query (an unknown or repeated parameter is a 400).
    const caller = createCaller(contextOf(deps, request), { signal: left.signal });
    const events = await caller.notes.changes(input as ChangesInput);
    return reply
      .type('text/event-stream; charset=utf-8')
      .headers({ 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no' })
      .send(Readable.from(frames(events, pingMs), { objectMode: false }));
  });
}

const PING = Symbol('ping');
const LATER = Symbol('later');
/** Resolves once the I/O callbacks now due have run (setImmediate): whatever they delivered is in. */
const afterIo = () => new Promise<typeof LATER>((resolve) => setImmediate(resolve, LATER));

/**
 * The stream's frames: a first `retry:` (which also sends the headers at once), then events, and a
 * `: ping` every `pingMs`. Events delivered together (one notification carries every poke its batch
 * holds, notify.ts) leave in one chunk: one socket write per stream, not one per poke.
 */
async function* frames(events: AsyncIterable<LiveEvent>, pingMs: number): AsyncGenerator<string> {
  yield `retry: ${RECONNECT_MS}\n\n`;
  const iterator = events[Symbol.asyncIterator]();
  let pending = iterator.next();
  let ping: () => void = () => {};
  const pinged = () => new Promise<typeof PING>((resolve) => (ping = () => resolve(PING)));
  let pingDue = pinged();
  const timer = setInterval(() => ping(), pingMs);
  try {
    for (;;) {
      const next = await Promise.race([pending, pingDue]);
      if (next === PING) {
        pingDue = pinged();
        yield ': ping\n\n';
        continue;
      }
      if (next.done) return;
      let chunk = frameOf(next.value);
      for (;;) {
        pending = iterator.next();
        const more = await Promise.race([pending, afterIo()]);
        if (more === LATER) break;
        if (more.done) {
          yield chunk;
          return;
        }
        chunk += frameOf(more.value);
      }
      yield chunk;
    }
  } finally {
    clearInterval(timer);
    // Not awaited: the subscription is closed by the abort above; this only lets its generator finish.
    void iterator.return?.()?.catch(() => undefined);
  }
}

export function frameOf(event: LiveEvent): string {
  switch (event.type) {
    case 'change':
      return `data: ${JSON.stringify({ accountId: event.accountId, fanId: event.fanId, version: event.version })}\n\n`;
    case 'resync':
      return 'event: resync\ndata: {}\n\n';
    case 'end':
      return (
        `retry: ${event.retryAfterMs}\n` +
        `event: end\ndata: ${JSON.stringify({ reason: event.reason, retryAfterMs: event.retryAfterMs })}\n\n`
      );
  }
}
