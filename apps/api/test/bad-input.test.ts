import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { Note } from '@fannotes/contract';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestApp, rowCounts, seedAccount, type TestApp } from './harness.ts';

// Bad input over real HTTP, on both surfaces: every refusal is a 4xx with the documented envelope,
// a message a person can read (never a stack or a server path), the request id of its response, and
// nothing written.

interface ErrorBody {
  status: 'error';
  error: {
    code: string;
    message: string;
    details?: { requestId?: string; issues?: { path: string; message: string }[] };
  };
}

interface TrpcErrorBody {
  error: {
    message: string;
    code: number;
    data: { code: string; httpStatus: number; requestId?: string; details?: unknown };
  };
}

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

let app: TestApp;
let base: string;
let seeded: Awaited<ReturnType<typeof seedAccount>>;
let noteId: string;

beforeAll(async () => {
  app = await createTestApp();
  base = await app.listen();
  seeded = await seedAccount(app);
  const owner = await app.caller(seeded.users.owner);
  noteId = (await owner.notes.update({ fanId: '12345', content: 'Likes cats.' })).data.id;
});
afterAll(() => app?.close());

async function send(
  method: string,
  path: string,
  body?: RequestInit['body'],
  options: { contentType?: string | null; headers?: Record<string, string>; userId?: string | null } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.userId !== null)
    headers.authorization = `Bearer ${await app.token(options.userId ?? seeded.users.owner)}`;
  if (body !== undefined && options.contentType !== null) {
    headers['content-type'] = options.contentType ?? 'application/json';
  }
  const init: RequestInit & { duplex?: 'half' } = { method, headers, body };
  if (body instanceof ReadableStream) init.duplex = 'half';
  const response = await fetch(`${base}${path}`, init);
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Nothing in an error body may reveal how the server is built. */
function expectNoInternals(text: string, message: string): void {
  expect(text).not.toMatch(/stack/i);
  expect(text).not.toContain('/work/');
  expect(text).not.toContain('node_modules');
  expect(text).not.toMatch(/\.(ts|js|mjs|cjs):\d+/);
  expect(message.trim().length).toBeGreaterThan(0);
  for (const line of message.split('\n')) expect(line).not.toMatch(/^\s*at\s/);
  expect(message).not.toMatch(/\bat .*\(.*\)/);
}

/** A REST refusal: status, JSON envelope, readable message, request id of this response. */
function expectRestError(reply: Reply, status: number, code: string): ErrorBody {
  expect(reply.status).toBe(status);
  expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
  const body = reply.json as ErrorBody;
  expect(body).toMatchObject({ status: 'error', error: { code, message: expect.any(String) } });
  expect(Object.keys(body).sort()).toEqual(['error', 'status']);
  const requestId = reply.headers.get('x-request-id');
  expect(requestId).toBeTruthy();
  expect(body.error.details?.requestId).toBe(requestId);
  expectNoInternals(reply.text, body.error.message);
  return body;
}

/** The error body with its request id replaced, for snapshots. */
function withoutRequestId(body: ErrorBody): ErrorBody {
  const { requestId: _requestId, ...details } = body.error.details ?? {};
  return { ...body, error: { ...body.error, details: { ...details, requestId: '<request-id>' } } };
}

function namesField(body: ErrorBody, field: string): boolean {
  return (
    body.error.message.includes(field) ||
    (body.error.details?.issues ?? []).some((issue) => issue.path === field || issue.message.includes(field))
  );
}

const json = (value: unknown) => JSON.stringify(value);
const note = (content: string, extra: Record<string, unknown> = {}) =>
  json({ fanId: '12345', content, ...extra });

interface Case {
  name: string;
  path: string;
  body: string;
  contentType?: string;
  status?: number;
  /** A field the error must name. */
  field?: string;
}

const restCases: Case[] = [
  // sync-notes
  { name: 'sync-notes without fanId', path: '/sync-notes', body: json({ force: true }), field: 'fanId' },
  {
    name: 'sync-notes with fanId as a number',
    path: '/sync-notes',
    body: json({ fanId: 12345 }),
    field: 'fanId',
  },
  {
    name: 'sync-notes with fanId not digits',
    path: '/sync-notes',
    body: json({ fanId: 'abc' }),
    field: 'fanId',
  },
  {
    name: 'sync-notes with force as "yes"',
    path: '/sync-notes',
    body: json({ fanId: '12345', force: 'yes' }),
    field: 'force',
  },
  {
    name: 'sync-notes with force as "false"',
    path: '/sync-notes',
    body: json({ fanId: '12345', force: 'false' }),
    field: 'force',
  },
  {
    name: 'sync-notes with force as 1',
    path: '/sync-notes',
    body: json({ fanId: '12345', force: 1 }),
    field: 'force',
  },
  {
    name: 'sync-notes with an unknown field',
    path: '/sync-notes',
    body: json({ fanId: '12345', bogus: 1 }),
    field: 'bogus',
  },
  {
    name: 'sync-notes with mutations but no clientId',
    path: '/sync-notes',
    body: json({
      fanId: '12345',
      mutations: [
        { id: 1, op: 'upsert', noteId: `note_${randomUUID()}`, baseVersion: 0, note: { content: 'x' } },
      ],
    }),
    field: 'clientId',
  },
  {
    name: 'sync-notes with an unknown field inside a mutation',
    path: '/sync-notes',
    body: json({
      fanId: '12345',
      clientId: randomUUID(),
      mutations: [
        {
          id: 1,
          op: 'upsert',
          noteId: `note_${randomUUID()}`,
          baseVersion: 0,
          note: { content: 'x', sneaky: true },
        },
      ],
    }),
    field: 'sneaky',
  },
  {
    name: 'sync-notes with an over-long note in a mutation',
    path: '/sync-notes',
    body: json({
      fanId: '12345',
      clientId: randomUUID(),
      mutations: [
        {
          id: 1,
          op: 'upsert',
          noteId: `note_${randomUUID()}`,
          baseVersion: 0,
          note: { content: 'a'.repeat(5001) },
        },
      ],
    }),
    field: 'content',
  },
  // update-note
  {
    name: 'update-note without content',
    path: '/update-note',
    body: json({ fanId: '12345' }),
    field: 'content',
  },
  { name: 'update-note without fanId', path: '/update-note', body: json({ content: 'hi' }), field: 'fanId' },
  {
    name: 'update-note with content as a number',
    path: '/update-note',
    body: json({ fanId: '12345', content: 5 }),
    field: 'content',
  },
  {
    name: 'update-note with 5,001 characters after trimming',
    path: '/update-note',
    body: note(`  ${'a'.repeat(5001)}  `),
    field: 'content',
  },
  {
    name: 'update-note with whitespace-only content',
    path: '/update-note',
    body: note(' \n\t '),
    field: 'content',
  },
  { name: 'update-note with empty content', path: '/update-note', body: note(''), field: 'content' },
  {
    name: 'update-note with a NUL character',
    path: '/update-note',
    body: note('a\u0000b'),
    field: 'content',
  },
  {
    name: 'update-note with a lone surrogate',
    path: '/update-note',
    body: note('a\uD800b'),
    field: 'content',
  },
  {
    name: 'update-note with a lone low surrogate',
    path: '/update-note',
    body: note('\uDC00'),
    field: 'content',
  },
  {
    name: 'update-note with colour "red"',
    path: '/update-note',
    body: note('x', { color: 'red' }),
    field: 'color',
  },
  {
    name: 'update-note with colour "#12345"',
    path: '/update-note',
    body: note('x', { color: '#12345' }),
    field: 'color',
  },
  {
    name: 'update-note with type "secret"',
    path: '/update-note',
    body: note('x', { type: 'secret' }),
    field: 'type',
  },
  {
    name: 'update-note with isPinned as "false"',
    path: '/update-note',
    body: note('x', { isPinned: 'false' }),
    field: 'isPinned',
  },
  {
    name: 'update-note with baseVersion as "1"',
    path: '/update-note',
    body: note('x', { baseVersion: '1' }),
    field: 'baseVersion',
  },
  {
    name: 'update-note with a malformed noteId',
    path: '/update-note',
    body: note('x', { noteId: '42' }),
    field: 'noteId',
  },
  {
    name: 'update-note with an unknown field',
    path: '/update-note',
    body: note('x', { bogus: 1 }),
    field: 'bogus',
  },
  // update-of-note
  {
    name: 'update-of-note without onlyFansNoteId',
    path: '/update-of-note',
    body: json({ fanId: '12345', content: 'x' }),
    field: 'onlyFansNoteId',
  },
  {
    name: 'update-of-note with content as a number',
    path: '/update-of-note',
    body: json({ fanId: '12345', onlyFansNoteId: '12345', content: 7 }),
    field: 'content',
  },
  {
    name: 'update-of-note with an onlyFansNoteId holding spaces',
    path: '/update-of-note',
    body: json({ fanId: '12345', onlyFansNoteId: 'a b', content: 'x' }),
    field: 'onlyFansNoteId',
  },
  {
    name: 'update-of-note with 20,001 characters',
    path: '/update-of-note',
    body: json({ fanId: '12345', onlyFansNoteId: '12345', content: 'a'.repeat(20001) }),
    field: 'content',
  },
  {
    name: 'update-of-note with a NUL character',
    path: '/update-of-note',
    body: json({ fanId: '12345', onlyFansNoteId: '12345', content: '\u0000' }),
    field: 'content',
  },
  {
    name: 'update-of-note with an unknown field',
    path: '/update-of-note',
    body: json({ fanId: '12345', onlyFansNoteId: '12345', content: 'x', color: '#000000' }),
    field: 'color',
  },
  // delete-note
  {
    name: 'delete-note without noteId',
    path: '/delete-note',
    body: json({ fanId: '12345' }),
    field: 'noteId',
  },
  {
    name: 'delete-note with noteId as a number',
    path: '/delete-note',
    body: json({ fanId: '12345', noteId: 1 }),
    field: 'noteId',
  },
  {
    name: 'delete-note with fanId as a number',
    path: '/delete-note',
    body: json({ fanId: 12345, noteId: `note_${randomUUID()}` }),
    field: 'fanId',
  },
  {
    name: 'delete-note with baseVersion as "0"',
    path: '/delete-note',
    body: json({ fanId: '12345', noteId: `note_${randomUUID()}`, baseVersion: '0' }),
    field: 'baseVersion',
  },
  {
    name: 'delete-note with an unknown field',
    path: '/delete-note',
    body: json({ fanId: '12345', noteId: `note_${randomUUID()}`, force: true }),
    field: 'force',
  },
  // fans
  { name: 'fans without accountId', path: '/fans', body: json({ fanId: '777' }), field: 'accountId' },
  {
    name: 'fans with fanId as a number',
    path: '/fans',
    body: json({ accountId: randomUUID(), fanId: 777 }),
    field: 'fanId',
  },
  {
    name: 'fans with a malformed accountId',
    path: '/fans',
    body: json({ accountId: 'acc_1', fanId: '777' }),
    field: 'accountId',
  },
  {
    name: 'fans with a NUL in the name',
    path: '/fans',
    body: json({ accountId: randomUUID(), fanId: '777', name: 'Bob\u0000' }),
    field: 'name',
  },
  {
    name: 'fans with an unknown field',
    path: '/fans',
    body: json({ accountId: randomUUID(), fanId: '777', bogus: 1 }),
    field: 'bogus',
  },
  // accounts
  {
    name: 'accounts without username',
    path: '/accounts',
    body: json({ onlyFansUserId: '999' }),
    field: 'username',
  },
  {
    name: 'accounts with onlyFansUserId as a number',
    path: '/accounts',
    body: json({ onlyFansUserId: 999, username: 'creator' }),
    field: 'onlyFansUserId',
  },
  {
    name: 'accounts with onlyFansUserId with a leading zero',
    path: '/accounts',
    body: json({ onlyFansUserId: '0999', username: 'creator' }),
    field: 'onlyFansUserId',
  },
  {
    name: 'accounts with a whitespace-only username',
    path: '/accounts',
    body: json({ onlyFansUserId: '999', username: '   ' }),
    field: 'username',
  },
  {
    name: 'accounts with an unknown field',
    path: '/accounts',
    body: json({ onlyFansUserId: '999', username: 'creator', role: 'owner' }),
    field: 'role',
  },
];

const endpoints = ['/sync-notes', '/update-note', '/update-of-note', '/delete-note', '/fans', '/accounts'];

const bodyCases: Case[] = endpoints.flatMap((path) => [
  { name: `${path} with malformed JSON`, path, body: '{' },
  { name: `${path} with a JSON array`, path, body: '[]' },
  { name: `${path} with a JSON string`, path, body: '"x"' },
  { name: `${path} with a JSON number`, path, body: '1' },
  { name: `${path} with JSON null`, path, body: 'null' },
  {
    name: `${path} with a text/plain body`,
    path,
    body: json({ fanId: '12345' }),
    contentType: 'text/plain',
    status: 415,
  },
  {
    name: `${path} with a form body`,
    path,
    body: 'fanId=12345',
    contentType: 'application/x-www-form-urlencoded',
    status: 415,
  },
]);

describe('REST: invalid bodies are 400 validation_error and write nothing', () => {
  test.each(restCases)('$name is refused, naming the field', async ({ path, body, field }) => {
    const before = await rowCounts(app);
    const error = expectRestError(await send('POST', `/api/v2${path}`, body), 400, 'validation_error');
    expect(error.error.message).toMatch(/^Invalid request: /);
    if (field) expect(namesField(error, field)).toBe(true);
    expect(await rowCounts(app)).toEqual(before);
  });

  test.each(bodyCases)('$name is refused', async ({ path, body, contentType, status }) => {
    const before = await rowCounts(app);
    const reply = await send('POST', `/api/v2${path}`, body, {
      contentType: contentType ?? 'application/json',
    });
    expectRestError(reply, status ?? 400, 'validation_error');
    expect(await rowCounts(app)).toEqual(before);
  });

  test('the error bodies have the documented shape', async () => {
    const missing = expectRestError(
      await send('POST', '/api/v2/sync-notes', json({})),
      400,
      'validation_error',
    );
    expect(withoutRequestId(missing)).toMatchInlineSnapshot(`
      {
        "error": {
          "code": "validation_error",
          "details": {
            "issues": [
              {
                "message": "Invalid input: expected string, received undefined",
                "path": "fanId",
              },
            ],
            "requestId": "<request-id>",
          },
          "message": "Invalid request: fanId: Invalid input: expected string, received undefined",
        },
        "status": "error",
      }
    `);
    const unknown = expectRestError(
      await send('POST', '/api/v2/sync-notes', json({ fanId: '12345', bogus: 1 })),
      400,
      'validation_error',
    );
    expect(withoutRequestId(unknown)).toMatchInlineSnapshot(`
      {
        "error": {
          "code": "validation_error",
          "details": {
            "issues": [
              {
                "message": "unknown field(s): bogus",
                "path": "(body)",
              },
            ],
            "requestId": "<request-id>",
          },
          "message": "Invalid request: (body): unknown field(s): bogus",
        },
        "status": "error",
      }
    `);
    const wrongType = expectRestError(
      await send('POST', '/api/v2/sync-notes', json({ fanId: '12345', force: 'yes' })),
      400,
      'validation_error',
    );
    expect(withoutRequestId(wrongType)).toMatchInlineSnapshot(`
      {
        "error": {
          "code": "validation_error",
          "details": {
            "issues": [
              {
                "message": "Invalid input: expected boolean, received string",
                "path": "force",
              },
            ],
            "requestId": "<request-id>",
          },
          "message": "Invalid request: force: Invalid input: expected boolean, received string",
        },
        "status": "error",
      }
    `);
    const malformed = expectRestError(await send('POST', '/api/v2/sync-notes', '{'), 400, 'validation_error');
    expect(withoutRequestId(malformed)).toMatchInlineSnapshot(`
      {
        "error": {
          "code": "validation_error",
          "details": {
            "requestId": "<request-id>",
          },
          "message": "The request body is not valid JSON.",
        },
        "status": "error",
      }
    `);
    const notObject = expectRestError(
      await send('POST', '/api/v2/sync-notes', '[]'),
      400,
      'validation_error',
    );
    expect(withoutRequestId(notObject)).toMatchInlineSnapshot(`
      {
        "error": {
          "code": "validation_error",
          "details": {
            "requestId": "<request-id>",
          },
          "message": "The request body must be a JSON object.",
        },
        "status": "error",
      }
    `);
    const notJson = expectRestError(
      await send('POST', '/api/v2/sync-notes', 'fanId=12345', { contentType: 'text/plain' }),
      415,
      'validation_error',
    );
    expect(withoutRequestId(notJson)).toMatchInlineSnapshot(`
      {
        "error": {
          "code": "validation_error",
          "details": {
            "requestId": "<request-id>",
          },
          "message": "The request body must be JSON, sent as Content-Type: application/json.",
        },
        "status": "error",
      }
    `);
    const tooLong = expectRestError(
      await send('POST', '/api/v2/update-note', note('a'.repeat(5001))),
      400,
      'validation_error',
    );
    expect(withoutRequestId(tooLong)).toMatchInlineSnapshot(`
      {
        "error": {
          "code": "validation_error",
          "details": {
            "issues": [
              {
                "message": "content must be at most 5000 characters",
                "path": "content",
              },
            ],
            "requestId": "<request-id>",
          },
          "message": "Invalid request: content: content must be at most 5000 characters",
        },
        "status": "error",
      }
    `);
  });

  test('a JSON body sent without any content type is 415', async () => {
    const before = await rowCounts(app);
    expectRestError(
      await send('POST', '/api/v2/update-note', note('no header'), { contentType: null }),
      415,
      'validation_error',
    );
    expect(await rowCounts(app)).toEqual(before);
  });

  test('application/json with a charset parameter is accepted', async () => {
    app.clock.advance(60_000);
    const reply = await send('POST', '/api/v2/sync-notes', json({ fanId: '12345' }), {
      contentType: 'application/json; charset=utf-8',
    });
    expect(reply.status).toBe(200);
  });
});

describe('REST: note content limits', () => {
  test('5,000 characters after trimming are saved, trimmed', async () => {
    const reply = await send('POST', '/api/v2/update-note', note(`\n  ${'a'.repeat(5000)}  \t`));
    expect(reply.status).toBe(200);
    const saved = (reply.json as { data: Note }).data;
    expect(saved.content).toBe('a'.repeat(5000));
  });

  test('the limit counts characters, not UTF-16 units: 5,000 emoji are saved and 5,001 are not', async () => {
    const ok = await send('POST', '/api/v2/update-note', note('🐱'.repeat(5000)));
    expect(ok.status).toBe(200);
    expect((ok.json as { data: Note }).data.content).toBe('🐱'.repeat(5000));
    const before = await rowCounts(app);
    expectRestError(
      await send('POST', '/api/v2/update-note', note('🐱'.repeat(5001))),
      400,
      'validation_error',
    );
    expect(await rowCounts(app)).toEqual(before);
  });

  test('an OnlyFans note longer than a CRM note (up to 20,000 characters) is imported whole', async () => {
    const content = 'b'.repeat(20000);
    const reply = await send(
      'POST',
      '/api/v2/update-of-note',
      json({ fanId: '12345', onlyFansNoteId: 'of-long', content }),
    );
    expect(reply.status).toBe(200);
    expect((reply.json as { data: Note }).data).toMatchObject({ content, source: 'onlyfans' });
  });
});

describe('REST: oversized bodies are 413', () => {
  const big = json({
    fanId: '12345',
    onlyFansNotes: [{ onlyFansNoteId: '1', content: 'x'.repeat(300 * 1024) }],
  });

  test('a body declared larger than 256 KiB is 413 validation_error', async () => {
    const before = await rowCounts(app);
    const error = expectRestError(await send('POST', '/api/v2/sync-notes', big), 413, 'validation_error');
    expect(withoutRequestId(error)).toMatchInlineSnapshot(`
      {
        "error": {
          "code": "validation_error",
          "details": {
            "requestId": "<request-id>",
          },
          "message": "The request body is larger than 262144 bytes.",
        },
        "status": "error",
      }
    `);
    expect(await rowCounts(app)).toEqual(before);
  });

  test('a client still sending its body when refused as too large reads its 413 (regression: the connection was closed under it: EPIPE, no answer)', async () => {
    const token = await app.token(seeded.users.owner);
    /**
     * Sends `size` bytes in 64 KiB slices 5 ms apart, declared or chunked, as a client that writes its
     * whole body before it looks at the answer; resolves once both are done.
     */
    const slowUpload = (path: string, size: number, declared: boolean) =>
      new Promise<{ status: number | undefined; text: string; writeError: string | null }>((resolve) => {
        const headers: Record<string, string | number> = {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
        };
        if (declared) headers['content-length'] = size;
        const req = httpRequest(`${base}${path}`, { method: 'POST', headers });
        let writeError: string | null = null;
        let status: number | undefined;
        let text = '';
        let pending = 2;
        const settle = () => --pending === 0 && resolve({ status, text, writeError });
        // A body the server stopped reading stalls the writer for ever: that is a failure too.
        setTimeout(() => {
          req.destroy();
          resolve({ status, text, writeError: writeError ?? 'the upload stalled' });
        }, 10_000).unref();
        req.on('error', (error: NodeJS.ErrnoException) => {
          if (writeError === null) {
            writeError = error.code ?? error.message;
            settle();
          }
        });
        req.on('response', (response) => {
          status = response.statusCode;
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', settle);
        });
        const slice = Buffer.alloc(64 * 1024, 'a');
        let sent = 0;
        const next = () => {
          if (writeError !== null) return;
          if (sent >= size) return void req.end(() => writeError === null && settle());
          sent += slice.length;
          req.write(slice, () => setTimeout(next, 5));
        };
        next();
      });
    for (const declared of [true, false]) {
      const answer = await slowUpload('/api/v2/sync-notes', 1024 * 1024, declared);
      expect(answer).toMatchObject({ status: 413, writeError: null });
      expect(JSON.parse(answer.text)).toMatchObject({ status: 'error', error: { code: 'validation_error' } });
    }
  });

  test('a chunked body that grows past 256 KiB is 413 validation_error', async () => {
    const before = await rowCounts(app);
    const bytes = new TextEncoder().encode(big);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let offset = 0; offset < bytes.length; offset += 16 * 1024) {
          controller.enqueue(bytes.slice(offset, offset + 16 * 1024));
        }
        controller.close();
      },
    });
    const reply = await send('POST', '/api/v2/update-of-note', stream);
    expectRestError(reply, 413, 'validation_error');
    expect(await rowCounts(app)).toEqual(before);
  });

  test('a body just under 256 KiB is read (and then judged on its fields)', async () => {
    const padding = 256 * 1024 - 200;
    const body = json({ fanId: '12345', content: 'ok', bogus: 'p'.repeat(padding) });
    expect(Buffer.byteLength(body)).toBeLessThan(256 * 1024);
    const error = expectRestError(await send('POST', '/api/v2/update-note', body), 400, 'validation_error');
    expect(namesField(error, 'bogus')).toBe(true);
  });
});

describe('REST: unknown routes and methods', () => {
  test.each([
    ['POST', '/api/v2/nope'],
    ['POST', '/api/v1/sync-notes'],
    ['GET', '/api/v2'],
    ['GET', '/nope'],
    ['POST', '/'],
  ])('%s %s is 404 resource_not_found with the envelope', async (method, path) => {
    const before = await rowCounts(app);
    const reply = await send(method, path, method === 'POST' ? json({ fanId: '12345' }) : undefined);
    const error = expectRestError(reply, 404, 'resource_not_found');
    expect(withoutRequestId(error)).toEqual({
      status: 'error',
      error: {
        code: 'resource_not_found',
        message: 'No such endpoint.',
        details: { requestId: '<request-id>' },
      },
    });
    expect(await rowCounts(app)).toEqual(before);
  });

  test.each([
    ['GET', '/api/v2/sync-notes'],
    ['PUT', '/api/v2/update-note'],
    ['PATCH', '/api/v2/update-of-note'],
    ['DELETE', '/api/v2/delete-note'],
    ['GET', '/api/v2/fans'],
    ['DELETE', '/api/v2/accounts'],
  ])('%s on the POST-only path %s is refused with the envelope and writes nothing', async (method, path) => {
    const before = await rowCounts(app);
    const reply = await send(method, path, ['GET', 'DELETE'].includes(method) ? undefined : note('x'));
    expectRestError(reply, 404, 'resource_not_found');
    expect(await rowCounts(app)).toEqual(before);
  });

  test('a GET with an unknown query parameter is a validation_error naming it', async () => {
    const error = expectRestError(await send('GET', '/api/v2/accounts?bogus=1'), 400, 'validation_error');
    expect(namesField(error, 'bogus')).toBe(true);
  });
});

describe('REST: request ids and authentication come first', () => {
  test('a request id sent by the client comes back in the header and the error body', async () => {
    const reply = await send('POST', '/api/v2/sync-notes', '{', {
      headers: { 'x-request-id': 'trace-42.a:b' },
    });
    expect(reply.headers.get('x-request-id')).toBe('trace-42.a:b');
    expect(expectRestError(reply, 400, 'validation_error').error.details?.requestId).toBe('trace-42.a:b');
  });

  test('a request id that is not a plain token is replaced by a fresh one', async () => {
    const reply = await send('POST', '/api/v2/sync-notes', '{', { headers: { 'x-request-id': '<script>' } });
    const id = reply.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(expectRestError(reply, 400, 'validation_error').error.details?.requestId).toBe(id);
  });

  test('every response has its own request id', async () => {
    const first = await send('POST', '/api/v2/sync-notes', '{');
    const second = await send('POST', '/api/v2/sync-notes', '{');
    expect(first.headers.get('x-request-id')).not.toBe(second.headers.get('x-request-id'));
  });

  test('invalid fields from a caller without a token are 401, not a validation report', async () => {
    const reply = await send('POST', '/api/v2/sync-notes', json({ fanId: 12345, bogus: 1 }), {
      userId: null,
    });
    const error = expectRestError(reply, 401, 'authentication_required');
    expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(error.error.details).toEqual({ requestId: reply.headers.get('x-request-id') });
  });
});

describe('regression: a header that must come once, sent twice, was read as its first value', () => {
  /** A request with repeated header lines (fetch would join them into one). */
  function raw(path: string, headers: Record<string, string | string[]>, body: string) {
    return new Promise<{ status: number; json: ErrorBody }>((resolve, reject) => {
      const req = httpRequest(`${base}${path}`, { method: 'POST', headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  test('two Authorization headers are a validation_error, whichever comes first, and nothing is written', async () => {
    const owner = `Bearer ${await app.token(seeded.users.owner)}`;
    const stranger = `Bearer ${await app.token(randomUUID())}`;
    const before = await rowCounts(app);
    for (const authorization of [
      [owner, stranger],
      [stranger, owner],
      [owner, owner],
    ]) {
      const reply = await raw(
        '/api/v2/update-note',
        { authorization, 'content-type': 'application/json' },
        JSON.stringify({ fanId: '12345', content: 'two credentials' }),
      );
      expect(reply.status).toBe(400);
      expect(reply.json.error).toMatchObject({
        code: 'validation_error',
        message: 'The authorization header was sent more than once.',
      });
    }
    const trpc = await raw(
      '/trpc/notes.update',
      { authorization: [owner, stranger], 'content-type': 'application/json' },
      JSON.stringify({ fanId: '12345', content: 'two credentials' }),
    );
    expect(trpc.status).toBe(400);
    expect(trpc.json).toMatchObject({ error: { data: { code: 'validation_error' } } });
    expect(await rowCounts(app)).toEqual(before);
  });

  test('two Content-Type headers are a validation_error', async () => {
    const reply = await raw(
      '/api/v2/update-note',
      {
        authorization: `Bearer ${await app.token(seeded.users.owner)}`,
        'content-type': ['application/json', 'text/plain'],
      },
      JSON.stringify({ fanId: '12345', content: 'two types' }),
    );
    expect(reply.status).toBe(400);
    expect(reply.json.error.message).toBe('The content-type header was sent more than once.');
  });
});

describe('regression: a note of invisible characters only was saved', () => {
  test.each([
    ['zero-width spaces', ' \u200B\u200B '],
    ['a byte order mark and a word joiner', '\uFEFF\u2060'],
  ])('%s: refused on every surface that takes text, nothing written', async (_name, content) => {
    const before = await rowCounts(app);
    for (const [path, body] of [
      ['/update-note', { fanId: '12345', content }],
      ['/update-of-note', { fanId: '12345', onlyFansNoteId: 'of-blank', content }],
      [
        '/sync-notes',
        {
          fanId: '12345',
          clientId: randomUUID(),
          mutations: [
            { id: 1, op: 'upsert', noteId: `note_${randomUUID()}`, baseVersion: 0, note: { content } },
          ],
        },
      ],
      ['/accounts', { onlyFansUserId: '424242', username: content }],
    ] as const) {
      const error = expectRestError(
        await send('POST', `/api/v2${path}`, json(body)),
        400,
        'validation_error',
      );
      expect(error.error.message).toContain('must contain a visible character');
    }
    expect(await rowCounts(app)).toEqual(before);
  });
});

describe('tRPC: the same bad inputs to notes.sync', () => {
  const trpcCases: {
    name: string;
    body: string | ReadableStream<Uint8Array>;
    contentType?: string;
    status: number;
  }[] = [
    { name: 'no fanId', body: json({}), status: 400 },
    { name: 'fanId as a number', body: json({ fanId: 12345 }), status: 400 },
    { name: 'force as "yes"', body: json({ fanId: '12345', force: 'yes' }), status: 400 },
    { name: 'an unknown field', body: json({ fanId: '12345', bogus: 1 }), status: 400 },
    { name: 'malformed JSON', body: '{', status: 400 },
    { name: 'a JSON array', body: '[]', status: 400 },
    { name: 'a JSON string', body: '"x"', status: 400 },
    { name: 'a text/plain body', body: json({ fanId: '12345' }), contentType: 'text/plain', status: 415 },
    {
      name: 'a body over 256 KiB',
      body: json({ fanId: '12345', cursor: 'c'.repeat(300 * 1024) }),
      status: 413,
    },
  ];

  test.each(trpcCases)(
    '$name is $status validation_error in tRPC shape',
    async ({ body, contentType, status }) => {
      const before = await rowCounts(app);
      const reply = await send('POST', '/trpc/notes.sync', body, {
        contentType: contentType ?? 'application/json',
      });
      expect(reply.status).toBe(status);
      expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
      const error = (reply.json as TrpcErrorBody).error;
      expect(error.data.code).toBe('validation_error');
      expect(error.data.httpStatus).toBe(status);
      expect(error.data.requestId).toBe(reply.headers.get('x-request-id'));
      expect(typeof error.code).toBe('number');
      expectNoInternals(reply.text, error.message);
      expect(await rowCounts(app)).toEqual(before);
    },
  );

  test('the tRPC error shape is pinned', async () => {
    const reply = await send('POST', '/trpc/notes.sync', json({ fanId: '12345', bogus: 1 }));
    const body = reply.json as TrpcErrorBody;
    expect(body.error.data.requestId).toBe(reply.headers.get('x-request-id'));
    expect({ ...body, error: { ...body.error, data: { ...body.error.data, requestId: '<request-id>' } } })
      .toMatchInlineSnapshot(`
        {
          "error": {
            "code": -32600,
            "data": {
              "code": "validation_error",
              "details": {
                "issues": [
                  {
                    "message": "unknown field(s): bogus",
                    "path": "(body)",
                  },
                ],
              },
              "httpStatus": 400,
              "requestId": "<request-id>",
            },
            "message": "Invalid request: (body): unknown field(s): bogus",
          },
        }
      `);
  });

  test('an unknown procedure is 404 resource_not_found', async () => {
    const reply = await send('POST', '/trpc/notes.nope', json({ fanId: '12345' }));
    expect(reply.status).toBe(404);
    const error = (reply.json as TrpcErrorBody).error;
    expect(error.data).toMatchObject({ code: 'resource_not_found', httpStatus: 404 });
    expectNoInternals(reply.text, error.message);
  });

  test('GET on a mutation is a 4xx in tRPC shape and writes nothing', async () => {
    const before = await rowCounts(app);
    const reply = await send('GET', `/trpc/notes.sync?input=${encodeURIComponent(json({ fanId: '12345' }))}`);
    expect(reply.status).toBeGreaterThanOrEqual(400);
    expect(reply.status).toBeLessThan(500);
    const error = (reply.json as TrpcErrorBody).error;
    expect(error.data.code).toBe('validation_error');
    expectNoInternals(reply.text, error.message);
    expect(await rowCounts(app)).toEqual(before);
  });
});

describe('regression: the REST adapter coerced body fields to the expected type', () => {
  // trpc-to-openapi switched on zod coercion for booleans and numbers on every REST call, for JSON
  // bodies too, and the schemas are shared with tRPC: "false" pinned a note, null became version 0.
  test('isPinned "false" does not pin a note, over REST or over tRPC after a REST call', async () => {
    const before = await rowCounts(app);
    expectRestError(
      await send('POST', '/api/v2/update-note', note('pin?', { noteId, isPinned: 'false' })),
      400,
      'validation_error',
    );
    const trpc = await send('POST', '/trpc/notes.update', note('pin?', { noteId, isPinned: 'false' }));
    expect(trpc.status).toBe(400);
    expect((trpc.json as TrpcErrorBody).error.data.code).toBe('validation_error');
    expect(await rowCounts(app)).toEqual(before);
    const owner = await app.caller(seeded.users.owner);
    const notes = (await owner.notes.sync({ fanId: '12345', force: true })).data.notes;
    expect(notes.find((n) => n.id === noteId)).toMatchObject({ content: 'Likes cats.', isPinned: false });
  });

  test('baseVersion null is read as left out (an edit of the note as it is now), never as 0 (which would make a conflict copy)', async () => {
    const before = await rowCounts(app);
    const reply = await send(
      'POST',
      '/api/v2/update-note',
      note('Edited with a null base.', { noteId, baseVersion: null }),
    );
    expect(reply.status).toBe(200);
    expect((reply.json as { data: Note }).data).toMatchObject({
      id: noteId,
      content: 'Edited with a null base.',
      conflictOf: null,
    });
    expect(await rowCounts(app)).toEqual({ ...before, fan_versions: before.fan_versions! + 1 });
  });

  test('real booleans and numbers still work over REST', async () => {
    const reply = await send(
      'POST',
      '/api/v2/update-note',
      note('Likes cats a lot.', { noteId, isPinned: true }),
    );
    expect(reply.status).toBe(200);
    expect((reply.json as { data: Note }).data).toMatchObject({
      id: noteId,
      isPinned: true,
      conflictOf: null,
    });
  });
});
