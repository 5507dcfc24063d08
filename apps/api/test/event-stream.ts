import { EventSource } from 'eventsource';

/** One event of `GET /api/v2/events` as a REST caller's EventSource reads it. */
export interface StreamEvent {
  /** `message` for a poke, else the event's name (`resync`, `end`). */
  type: string;
  data: unknown;
  /** `performance.now()` when it arrived. */
  at: number;
}

export interface EventStream {
  /** The next event not yet taken, or a failure after `ms` (a bound on waiting, not a sleep). */
  next(ms?: number): Promise<StreamEvent>;
  /** Events arrived and not yet taken. */
  readonly waiting: number;
  close(): void;
}

/**
 * Opens `GET {base}/api/v2/events{query}` with the `eventsource` package (what a REST caller in Node
 * would use; it reads the stream over fetch, so it can send the Authorization header) and resolves
 * once the stream is open. It never reconnects: a test sees the stream end as the server ended it.
 */
export function openEventStream(base: string, token: string, query = ''): Promise<EventStream> {
  const queue: StreamEvent[] = [];
  let wake: (() => void) | undefined;
  const source = new EventSource(`${base}/api/v2/events${query}`, {
    fetch: (input, init) =>
      fetch(input, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } }),
  });
  const take = (type: string) => (event: { data: string }) => {
    queue.push({ type, data: JSON.parse(event.data) as unknown, at: performance.now() });
    wake?.();
  };
  source.addEventListener('message', take('message'));
  source.addEventListener('resync', take('resync'));
  source.addEventListener('end', (event) => {
    take('end')(event);
    source.close();
  });
  const stream: EventStream = {
    next: (ms = 10_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no event within ${ms} ms`)), ms);
        const check = () => {
          const event = queue.shift();
          if (!event) return;
          clearTimeout(timer);
          wake = undefined;
          resolve(event);
        };
        wake = check;
        check();
      }),
    get waiting() {
      return queue.length;
    },
    close: () => source.close(),
  };
  return new Promise((resolve, reject) => {
    source.onopen = () => resolve(stream);
    source.onerror = (error) => {
      source.close();
      reject(new Error(`the event stream failed: ${error.message ?? ''} (${error.code ?? 'no status'})`));
    };
  });
}
