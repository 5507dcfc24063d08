import type { After } from '../utils/live-stream.ts';

/** Lets every promise job and stream chunk now queued run (event-loop turns, no time passes). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A clock whose timers run only when `advance` moves time past them, in order. */
export class FakeClock {
  now: number;
  private timers: { at: number; run: () => void }[] = [];

  constructor(start: number) {
    this.now = start;
  }

  readonly after: After = (ms, run) => {
    const timer = { at: this.now + ms, run };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  };

  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    await settle();
    for (;;) {
      const next = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.now = next.at;
      next.run();
      await settle();
    }
    this.now = end;
    await settle();
  }
}

/** One `text/event-stream` answer the test writes into, as the API would. */
export interface FakeStream {
  send(text: string): void;
  /** The server closes the stream. */
  close(): void;
  /** The client closed it (aborted the request, or cancelled the body). */
  readonly cancelled: boolean;
}

export interface FakeRequest {
  url: string;
  authorization: string | null;
  /** The stream, when this request was answered with one. */
  stream: FakeStream | null;
}

/**
 * A `fetch` standing in for the API's `GET /api/v2/events`: each request takes the next queued answer
 * (a status with the API's JSON error envelope, or a network failure), and a stream when none is queued.
 */
export function fakeEventsApi() {
  const requests: FakeRequest[] = [];
  const answers: ({ status: number; code: string; headers?: Record<string, string> } | 'offline' | 'hang')[] =
    [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    await Promise.resolve();
    const headers = new Headers(init?.headers);
    const request: FakeRequest = {
      url: input instanceof Request ? input.url : input.toString(),
      authorization: headers.get('authorization'),
      stream: null,
    };
    requests.push(request);
    const answer = answers.shift();
    if (answer === 'offline') throw new TypeError('Failed to fetch');
    if (answer === 'hang') {
      // No answer ever (a network that swallows the request): only the caller's abort ends it.
      return new Promise<Response>((_, reject) =>
        init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))),
      );
    }
    if (answer) {
      return new Response(
        JSON.stringify({ status: 'error', error: { code: answer.code, message: answer.code } }),
        {
          status: answer.status,
          headers: { 'content-type': 'application/json', ...answer.headers },
        },
      );
    }
    const encoder = new TextEncoder();
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let cancelled = false;
    let closed = false;
    const body = new ReadableStream<Uint8Array>({
      start: (c) => {
        controller = c;
      },
      cancel: () => {
        cancelled = true;
      },
    });
    request.stream = {
      send: (text) => {
        if (!cancelled && !closed) controller.enqueue(encoder.encode(text));
      },
      close: () => {
        closed = true;
        if (!cancelled) controller.close();
      },
      get cancelled() {
        return cancelled;
      },
    };
    return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
  };
  return {
    fetch,
    requests,
    /** Queue answers for the next requests. */
    answer: (...next: typeof answers) => answers.push(...next),
    /** The stream of the last request (throws if it was not answered with one). */
    get stream(): FakeStream {
      const stream = requests.at(-1)?.stream;
      if (!stream) throw new Error('the last request has no stream');
      return stream;
    },
  };
}

export const poke = (fanId: string, version: number, accountId: string) =>
  `data: ${JSON.stringify({ accountId, fanId, version })}\n\n`;
