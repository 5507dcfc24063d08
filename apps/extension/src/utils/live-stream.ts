import { FanChange, HEARTBEAT_INTERVAL_MS, LiveEvent } from '@fannotes/contract';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { After } from './after.ts';
import { parseRetryAfter } from './backoff.ts';

export type { After };

/**
 * A stream that carried nothing at all (not even the `: ping` comment the server sends about every
 * 25 s) for this long is dead without having said so (a sleeping laptop, a half-open connection).
 */
export const SILENCE_MS = 2 * HEARTBEAT_INTERVAL_MS + 10_000;

/** A poke, or the server asking for a pull of everything shown; `end` is the stream's outcome. */
export type StreamEvent = Exclude<LiveEvent, { type: 'end' }>;

/** How one connection to `GET /api/v2/events` finished. */
export type StreamOutcome =
  /** The server said goodbye: reconnect after `retryAfterMs` (with a fresh token for token_expired). */
  | Extract<LiveEvent, { type: 'end' }>
  /** Open, then closed or silent without an `end`: reconnect with backoff. */
  | { type: 'closed' }
  /** Closed by us (`signal`). */
  | { type: 'aborted' }
  /** 401 before the stream started: the session is missing or expired. */
  | { type: 'auth'; message: string }
  /** Any other answer than a stream (404 from an older API, 429 over the stream cap, 503...). */
  | { type: 'refused'; status: number; retryAfterMs: number | null; message: string }
  /** No answer at all. */
  | { type: 'offline'; message: string };

export interface StreamOptions {
  fetch: typeof fetch;
  /** The API base URL (no trailing slash). */
  apiUrl: string;
  token: string;
  signal: AbortSignal;
  /** The server answered with a stream: from now on, pokes arrive. */
  onOpen: () => void;
  onEvent: (event: StreamEvent) => void;
  /** An event the contract refuses: skipped (the stream goes on), reported for the log. */
  onIgnored?: (reason: string) => void;
  now: () => number;
  after: After;
}

/**
 * One connection to the live-update stream, read to its end. Every event is checked against the
 * contract (`FanChange` for the unnamed poke, `LiveEvent` for `resync` and `end`); anything else is
 * skipped, never fatal, because a poke only ever saves latency: the pull decides what is shown.
 * Never throws: every way the connection can end is an outcome the caller decides on.
 */
export async function readLiveStream(options: StreamOptions): Promise<StreamOutcome> {
  const { signal } = options;
  const silence = new AbortController();
  const both = AbortSignal.any([signal, silence.signal]);
  // Also bounds the wait for the answer's headers: a request the network swallowed is given up.
  let cancelSilence = options.after(SILENCE_MS, () => silence.abort());
  let response: Response;
  try {
    response = await options.fetch(`${options.apiUrl}/api/v2/events`, {
      headers: { authorization: `Bearer ${options.token}`, accept: 'text/event-stream' },
      cache: 'no-store',
      signal: both,
    });
  } catch (error) {
    cancelSilence();
    if (signal.aborted) return { type: 'aborted' };
    return { type: 'offline', message: error instanceof Error ? error.message : String(error) };
  }
  const contentType = response.headers.get('content-type') ?? '';
  if (!response.ok || !response.body || !contentType.startsWith('text/event-stream')) {
    cancelSilence();
    const message = await errorMessage(response);
    await response.body?.cancel().catch(() => undefined);
    if (response.status === 401) return { type: 'auth', message };
    return {
      type: 'refused',
      status: response.status,
      retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), options.now()),
      message,
    };
  }

  options.onOpen();
  let ended: StreamOutcome | null = null;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const stop = () => void reader.cancel().catch(() => undefined);
  both.addEventListener('abort', stop, { once: true });
  cancelSilence();
  cancelSilence = options.after(SILENCE_MS, () => silence.abort());
  const parser = createParser({
    onEvent: (message) => {
      const event = toEvent(message);
      if (typeof event === 'string') options.onIgnored?.(event);
      else if (event.type === 'end') ended = event;
      else options.onEvent(event);
    },
    onError: (error) => options.onIgnored?.(error.message),
  });
  try {
    while (ended === null) {
      const { done, value } = await reader.read();
      if (done) break;
      cancelSilence();
      cancelSilence = options.after(SILENCE_MS, () => silence.abort());
      parser.feed(value);
    }
  } catch {
    // The connection broke mid-stream (or was aborted): the outcome below says which.
  } finally {
    cancelSilence();
    both.removeEventListener('abort', stop);
    stop();
  }
  if (ended !== null) return ended;
  return signal.aborted ? { type: 'aborted' } : { type: 'closed' };
}

/** The contract's reading of one SSE message, or why it was skipped. */
function toEvent(message: EventSourceMessage): LiveEvent | string {
  let data: unknown;
  try {
    data = JSON.parse(message.data);
  } catch {
    return `not JSON: ${message.data.slice(0, 100)}`;
  }
  const name = message.event ?? 'message';
  if (name === 'message') {
    const change = FanChange.safeParse(data);
    return change.success ? { type: 'change', ...change.data } : `not a poke: ${change.error.message}`;
  }
  if (name !== 'resync' && name !== 'end') return `unknown event ${name}`;
  const event = LiveEvent.safeParse(
    typeof data === 'object' && data !== null ? { ...data, type: name } : data,
  );
  return event.success ? event.data : `not a ${name} event: ${event.error.message}`;
}

/** The API's error envelope's message, or the status line. */
async function errorMessage(response: Response): Promise<string> {
  try {
    const body = (await response.clone().json()) as { error?: { message?: unknown } };
    if (typeof body.error?.message === 'string') return body.error.message;
  } catch {
    // Not the JSON envelope (a proxy's page, an older API): the status says enough.
  }
  return `HTTP ${response.status}`;
}
