import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  bodyView,
  candidateBytes,
  hostileArbitrary,
  REQUIRED_KINDS,
  validArbitrary,
  type Candidate,
  type Hints,
  type Verdict,
} from './lib/arbitraries.ts';
import { FC_RUNS, fcParams } from './lib/config.ts';
import {
  addMembership,
  createHardeningDatabase,
  databaseDigest,
  seedAccount,
  seedNote,
  type HardeningDatabase,
} from './lib/database.ts';
import { callEndpoint, endpointLabel, endpoints, type Endpoint } from './lib/endpoints.ts';
import { recordFigures, Tally } from './lib/figures.ts';
import { outcomeOf, statuses, type Outcome, type Reply, type Surface } from './lib/http.ts';
import { alive, errorLogs, startApi, type ApiProcess, LIMITS_OFF } from './lib/processes.ts';
import { tokenFor } from './lib/tokens.ts';

// Input: generated request bodies on every REST path and tRPC procedure of one real API process. Valid
// ones (by the contract's schemas) are answered with the envelope and never a 5xx; invalid and hostile
// ones are 4xx validation errors (413 when too large) with the envelope, and change no row anywhere in
// the database. test/bad-input.test.ts pins the messages of hand-written cases in process; this file
// throws thousands of generated ones at a production process.

let db: HardeningDatabase;
let api: ApiProcess;
const figures: Record<string, Record<string, unknown>> = {};

beforeAll(async () => {
  db = await createHardeningDatabase();
  // No throttle: every sync with a valid body does a full sync, so valid bodies reach the writes.
  // Generated input: thousands of requests through a few tokens (LIMITS_OFF).
  api = await startApi('input', db.url, {
    SYNC_MIN_INTERVAL_MS: '0',
    SYNC_FORCE_FLOOR_MS: '0',
    ...LIMITS_OFF,
  });
}, 90_000);

afterAll(async () => {
  const exit = api ? await api.stop() : undefined;
  await db?.close();
  recordFigures('input', {
    endpoints: figures,
    totals: {
      requests: statuses.total,
      byStatus: statuses.counts,
      serverErrors: statuses.serverErrors,
      cases: Object.values(figures).reduce((sum, entry) => sum + Number(entry.cases ?? 0), 0),
      rowsChangedByInvalidInput: 0,
    },
    processExit: exit ? { code: exit.code, signal: exit.signal } : null,
  });
}, 60_000);

/** The ids a request may name: this user's, another account's of theirs, a stranger's, and none at all. */
async function fixture() {
  const mine = await seedAccount(db.admin, { fanIds: ['12345', '67890'] });
  const shared = await seedAccount(db.admin, { fanIds: ['12345'] });
  const foreign = await seedAccount(db.admin, { fanIds: ['55555'] });
  // The actor is the owner of `mine` and a chatter of `shared`: fan 12345 is then ambiguous.
  const actor = mine.users.owner;
  await addMembership(db.admin, shared.accountId, actor, 'chatter');
  const notes = [
    await seedNote(db.admin, mine, '12345', { content: 'Likes cats.' }),
    await seedNote(db.admin, mine, '67890', { content: 'From OnlyFans.', onlyFansNoteId: '67890' }),
    await seedNote(db.admin, foreign, '55555', { content: 'Someone else’s VIP.' }),
  ];
  const hints: Hints = {
    fanId: fc.constantFrom('12345', '67890', '55555', '99999'),
    accountId: fc.constantFrom(mine.accountId, shared.accountId, foreign.accountId, randomUUID()),
    noteId: fc.constantFrom(...notes, `note_${randomUUID()}`),
    userId: fc.constantFrom(actor, mine.users.chatter, mine.users.viewer, foreign.users.owner, randomUUID()),
    clientId: fc.constantFrom(randomUUID(), randomUUID()),
    onlyFansNoteId: fc.constantFrom('67890', 'of-1', 'of:2'),
    onlyFansUserId: fc.constantFrom(mine.onlyFansUserId, foreign.onlyFansUserId),
    id: fc.integer({ min: 1, max: 4 }),
    baseVersion: fc.integer({ min: 0, max: 4 }),
    cursor: fc.constantFrom('v1.0', 'v1.2', 'v2.zzz'),
    // Invite codes of the right form (random text is almost never one): unknown, in other spellings.
    code: fc.constantFrom(
      'FN-0123456789ABCDEFGHJKMNPQRS',
      'fn-0123-4567-89ab-cdef-ghjk-mnpq-rs',
      'https://api.example.com/invite#FN-ZZZZZZZZZZZZZZZZZZZZZZZZZZ',
    ),
  };
  return { token: await tokenFor(actor), hints };
}

// Node refuses a request line and headers over 16 KiB (431) before any handler runs.
const HEADER_LIMIT = 16 * 1024;

type Expectation = Verdict | 'url too long' | 'either';

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A URL's length once percent-encoded (roughly: each byte may take three characters). */
function urlLength(text: string | Uint8Array): number {
  return typeof text === 'string' ? Buffer.byteLength(text) * 3 : text.length * 3;
}

function schemaVerdict(endpoint: Endpoint, input: unknown): Verdict {
  return endpoint.input.safeParse(input).success ? 'valid' : 'invalid';
}

/**
 * What the server must make of a candidate on a surface, from how that surface builds a procedure's
 * input: tRPC mutations from the body, tRPC queries from `?input=` (a URL over 16 KiB is 431); REST
 * POST from the body with the path parameters over it, REST GET and DELETE from the query and the
 * path (a DELETE body must be empty). A REST path parameter left empty or made of dots changes the
 * route, so either a 400 or a 404 is right there.
 */
function expectationFor(
  endpoint: Endpoint,
  surface: Surface,
  candidate: Candidate,
  pathSource: unknown,
): Expectation {
  const value = 'value' in candidate ? candidate.value : undefined;
  if (surface === 'trpc') {
    if (endpoint.kind === 'mutation') {
      const view = bodyView(candidateBytes(candidate), { requireObject: false, empty: undefined });
      return 'verdict' in view ? view.verdict : schemaVerdict(endpoint, view.input);
    }
    const text = 'raw' in candidate ? candidate.raw : (JSON.stringify(value) ?? '');
    const length = urlLength(text);
    if (length > HEADER_LIMIT + 4096) return 'url too long';
    if (length > HEADER_LIMIT - 4096) return 'either';
    if (!('raw' in candidate))
      return value === undefined ? schemaVerdict(endpoint, undefined) : schemaVerdict(endpoint, value);
    // URLSearchParams decodes invalid UTF-8 leniently (U+FFFD); tRPC parses the JSON (none: no input).
    if (candidate.raw.length === 0) return schemaVerdict(endpoint, undefined);
    try {
      return schemaVerdict(endpoint, JSON.parse(Buffer.from(candidate.raw).toString('utf8')));
    } catch {
      return 'invalid';
    }
  }

  const source = 'raw' in candidate ? pathSource : value;
  const path: Record<string, string> = {};
  for (const name of endpoint.pathParams) {
    const part = isObject(source) ? source[name] : undefined;
    if (part === undefined || part === '' || part === '.' || part === '..') return 'either';
    if (typeof part === 'string' && LONE_SURROGATE.test(part)) return 'either';
    path[name] = typeof part === 'string' ? part : JSON.stringify(part);
  }
  const pathLength = urlLength(Object.values(path).join(''));
  if (pathLength > HEADER_LIMIT + 4096) return 'url too long';
  if (pathLength > HEADER_LIMIT - 4096) return 'either';
  const others = isObject(value)
    ? Object.fromEntries(Object.entries(value).filter(([key]) => !endpoint.pathParams.includes(key)))
    : value;

  if (endpoint.method === 'POST') {
    const view = bodyView(candidateBytes(candidate, others), { requireObject: true, empty: {} });
    return 'verdict' in view ? view.verdict : schemaVerdict(endpoint, { ...(view.input as object), ...path });
  }
  if (endpoint.method === 'GET') {
    if ('raw' in candidate)
      return urlLength(candidate.raw) > HEADER_LIMIT
        ? 'either'
        : candidate.raw.length === 0
          ? schemaVerdict(endpoint, path)
          : 'invalid';
    const query = isObject(others)
      ? Object.fromEntries(
          Object.entries(others).map(([key, part]) => [
            key,
            typeof part === 'string' ? part : JSON.stringify(part),
          ]),
        )
      : {};
    const length = urlLength(JSON.stringify(query));
    if (length > HEADER_LIMIT + 4096) return 'url too long';
    if (length > HEADER_LIMIT - 4096) return 'either';
    if (Object.values(query).some((part) => LONE_SURROGATE.test(part))) return 'either';
    return schemaVerdict(endpoint, { ...query, ...path });
  }
  // DELETE: the body must be empty (or {}); the input is the path.
  const view = bodyView(
    candidateBytes(candidate, isObject(others) && Object.keys(others).length === 0 ? undefined : others),
    { requireObject: true, empty: {} },
  );
  if ('verdict' in view) return view.verdict;
  if (Object.keys(view.input as object).length > 0) return 'invalid';
  return schemaVerdict(endpoint, path);
}

/** A valid input may still be refused by a rule (403, 404, 409, a business 400), but never for its shape. */
function expectValidAnswer(outcome: Outcome): void {
  expect(outcome.status).toBeLessThan(500);
  expect([
    'success',
    'validation_error',
    'permission_denied',
    'resource_not_found',
    'sync_in_progress',
  ]).toContain(outcome.code);
  if (outcome.code === 'validation_error')
    expect(outcome.message).not.toMatch(/^Invalid request: |not valid|JSON/);
}

describe.each(
  endpoints.flatMap((endpoint) => (['rest', 'trpc'] as const).map((surface) => ({ endpoint, surface }))),
)('$endpoint.procedure over $surface', ({ endpoint, surface }) => {
  const label = endpointLabel(endpoint, surface);
  const tally = new Tally();
  const kinds = new Tally();

  afterAll(() => {
    figures[label] = { cases: tally.total, verdicts: tally.counts, hostileKinds: kinds.counts };
  });

  test('valid generated inputs get the envelope and never a 5xx', async () => {
    const { token, hints } = await fixture();
    await fc.assert(
      fc.asyncProperty(validArbitrary(endpoint.input, hints), async (input) => {
        const reply = await callEndpoint(api.url, endpoint, surface, input, { token });
        tally.add('valid');
        expectValidAnswer(outcomeOf(reply));
      }),
      fcParams,
    );
  }, 120_000);

  /** Sends a candidate and checks the answer against what it must be; the digest catches any write. */
  async function tryCandidate(token: string, candidate: Candidate, pathSource: unknown): Promise<void> {
    const expected = expectationFor(endpoint, surface, candidate, pathSource);
    tally.add(expected);
    kinds.add(candidate.kind);
    const before = expected === 'valid' || expected === 'either' ? undefined : await databaseDigest(db.admin);
    const value = 'value' in candidate ? candidate.value : undefined;
    let reply: Reply;
    try {
      reply = await callEndpoint(api.url, endpoint, surface, value, {
        token,
        pathInput: 'raw' in candidate ? pathSource : undefined,
        ...('raw' in candidate ? { raw: { raw: candidate.raw } } : {}),
      });
    } catch (error) {
      throw new Error(`${candidate.kind}: no answer`, { cause: error });
    }
    const outcome = outcomeOf(reply);
    const what = `${candidate.kind} (${expected}): ${reply.status} ${reply.text.slice(0, 200)}`;
    expect(outcome.status, what).toBeLessThan(500);
    if (expected === 'valid') return expectValidAnswer(outcome);
    if (expected === 'either') return;
    expect(outcome.status, what).toBeGreaterThanOrEqual(400);
    if (expected === 'too large') expect(outcome.status, what).toBe(413);
    if (expected === 'url too long') expect(outcome.status, what).toBe(431);
    expect(outcome.code, what).toBe('validation_error');
    expect(await databaseDigest(db.admin), `${what}: changed a row`).toBe(before);
  }

  test('invalid and hostile inputs are 4xx validation errors with the envelope and change no row', async () => {
    const { token, hints } = await fixture();
    const valid = validArbitrary(endpoint.input, hints);
    // Every kind the issue names, on every endpoint and surface, a few times each...
    const objects = valid.filter((value) => isObject(value));
    for (const kind of REQUIRED_KINDS) {
      await fc.assert(
        fc.asyncProperty(hostileArbitrary(objects, [kind]), valid, (candidate, pathSource) =>
          tryCandidate(token, candidate, pathSource),
        ),
        { ...fcParams, numRuns: 3 },
      );
    }
    // ...then any kind, anywhere in the body.
    await fc.assert(
      fc.asyncProperty(hostileArbitrary(valid), valid, (candidate, pathSource) =>
        tryCandidate(token, candidate, pathSource),
      ),
      { ...fcParams, numRuns: FC_RUNS * 2 },
    );
    for (const kind of REQUIRED_KINDS)
      expect(kinds.get(kind), `${label} never tried ${kind}`).toBeGreaterThan(0);
  }, 240_000);
});

describe('transport refusals', () => {
  /**
   * Bytes on a raw socket (pieces `gapMs` apart): what came back before the server closed it, and how
   * many pieces were written before that.
   */
  function raw(bytes: string | string[], gapMs = 0): Promise<{ answer: string; written: number }> {
    const pieces = typeof bytes === 'string' ? [bytes] : bytes;
    return new Promise((resolve, reject) => {
      let written = 0;
      const send = async () => {
        for (const piece of pieces) {
          if (!socket.writable) return;
          socket.write(piece);
          written++;
          if (gapMs > 0) await new Promise((wake) => setTimeout(wake, gapMs));
        }
        socket.end();
      };
      // Half-open, as HTTP clients are: the server's FIN after its answer does not end our sending.
      const socket = connect(
        { port: Number(new URL(api.url).port), host: '127.0.0.1', allowHalfOpen: true },
        () => void send(),
      );
      let answer = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => (answer += chunk));
      socket.on('close', () => resolve({ answer, written }));
      socket.on('error', reject);
      socket.setTimeout(15_000, () => socket.destroy(new Error('no answer in 15 s')));
    });
  }

  const requests: [string, string, number][] = [
    ['a request line that is not HTTP', 'GARBAGE\r\n\r\n', 400],
    [
      'a Content-Length that is not a number',
      'POST /api/v2/sync-notes HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
      400,
    ],
    [
      'both Transfer-Encoding and Content-Length (request smuggling)',
      'POST /api/v2/sync-notes HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n',
      400,
    ],
    ['a header line without a colon', 'GET /healthz HTTP/1.1\r\nHost: x\r\nbroken header\r\n\r\n', 400],
    ['a NUL byte in a header', 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n', 400],
    [
      '20 KiB of headers',
      `GET /api/v2/accounts HTTP/1.1\r\nHost: x\r\nCookie: ${'a'.repeat(20_000)}\r\n\r\n`,
      431,
    ],
    [
      'a 1 MB URL',
      `GET /trpc/accounts.list?input=${'x'.repeat(1024 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      431,
    ],
  ];

  test.each(requests.map(([name, bytes, status]) => [name, status, bytes] as const))(
    '%s is answered %i with the envelope and the connection closed',
    async (_name, status, bytes) => {
      const { answer } = await raw(bytes);
      const [head, body] = answer.split('\r\n\r\n');
      expect(head).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
      expect(head).toMatch(/\r\nConnection: close/i);
      expect(JSON.parse(body!)).toEqual({
        status: 'error',
        error: { code: 'validation_error', message: expect.any(String) },
      });
    },
  );

  test('a 1 MB URL still arriving after its 431 is read to its end: the client reads the answer, not a reset', async () => {
    // The parser refuses the request after 16 KiB; the server must not reset the connection while the
    // rest of the URL is still coming (the client would meet EPIPE before reading the 431).
    const head = `GET /api/v2/accounts/${'a'.repeat(1024 * 1024)}/members HTTP/1.1\r\nHost: x\r\n\r\n`;
    const pieces = Array.from({ length: 16 }, (_, i) => head.slice(i * 65_536, (i + 1) * 65_536));
    pieces.push(head.slice(16 * 65_536));
    const { answer, written } = await raw(pieces, 25);
    expect(written, 'pieces written before the server closed').toBe(pieces.length);
    expect(answer).toMatch(/^HTTP\/1.1 431 /);
    expect(JSON.parse(answer.split('\r\n\r\n')[1]!)).toMatchObject({ error: { code: 'validation_error' } });
  });

  test('a 20 MB body still arriving after its 413 is read to its end: the client reads the answer, not a reset', async () => {
    // More than the server used to read of a refused body before it closed the connection under it.
    const piece = 'a'.repeat(1024 * 1024);
    const head =
      'POST /api/v2/sync-notes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
      `Content-Length: ${20 * piece.length}\r\n\r\n`;
    const pieces = [head, ...Array.from({ length: 20 }, () => piece)];
    const { answer, written } = await raw(pieces, 10);
    expect(written, 'pieces written before the server closed').toBe(pieces.length);
    expect(answer).toMatch(/^HTTP\/1.1 413 /);
    expect(JSON.parse(answer.split('\r\n\r\n')[1]!)).toMatchObject({ error: { code: 'validation_error' } });
  });

  test('the process is still up and wrote no error log line', () => {
    expect(alive(api)).toBe(true);
    expect(errorLogs(api)).toEqual([]);
  });
});
