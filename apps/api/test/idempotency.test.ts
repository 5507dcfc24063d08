import { randomUUID } from 'node:crypto';
import type { Note } from '@fannotes/contract';
import { fans, idempotencyKeys, memberships, notes } from '@fannotes/db';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestApp, rowCounts, seedAccount, type TestApp } from './harness.ts';

// `Idempotency-Key` on POST /api/v2/update-note (and tRPC notes.update), over real HTTP: a caller
// that lost an answer and sends the same request again gets the note the first one wrote, once.

let app: TestApp;
let base: string;
let seeded: Awaited<ReturnType<typeof seedAccount>>;
let otherFan: Awaited<ReturnType<typeof seedAccount>>;
const fanId = '777';

beforeAll(async () => {
  app = await createTestApp();
  base = await app.listen();
  seeded = await seedAccount(app, fanId);
  otherFan = await seedAccount(app, '778');
  // The owner of fan 777's account is a member of fan 778's account too: one user, two fans.
  const now = app.clock.now();
  await app.database.db.insert(memberships).values({
    accountId: otherFan.account.id,
    userId: seeded.users.owner,
    role: 'owner',
    createdAt: now,
    updatedAt: now,
  });
});
afterAll(() => app?.close());

interface Reply {
  status: number;
  body: { status: string; data?: Note; error?: { code: string; message: string; details?: object } };
}

async function rest(
  body: object,
  options: { key?: string | string[]; userId?: string; path?: string } = {},
): Promise<Reply> {
  const headers = new Headers({
    authorization: `Bearer ${await app.token(options.userId ?? seeded.users.chatter)}`,
    'content-type': 'application/json',
  });
  for (const key of [options.key ?? []].flat()) headers.append('idempotency-key', key);
  const response = await fetch(`${base}${options.path ?? '/api/v2/update-note'}`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Reply['body'] };
}

const notesOfFan = async (fanRowId: string) =>
  app.database.db.select().from(notes).where(eq(notes.fanRowId, fanRowId));
const fanVersion = async (fanRowId: string) =>
  (await app.database.db.select().from(fans).where(eq(fans.id, fanRowId)))[0]!.version;

test('a repeated create with the same key answers with the first note and writes nothing', async () => {
  const key = randomUUID();
  const first = await rest({ fanId, content: 'Tips on Fridays', color: '#FF0000' }, { key });
  expect(first.status).toBe(200);
  const before = { counts: await rowCounts(app), version: await fanVersion(seeded.fan.id) };

  const again = await rest({ fanId, content: 'Tips on Fridays', color: '#FF0000' }, { key });
  expect(again).toEqual(first);
  expect(await rowCounts(app)).toEqual(before.counts);
  expect(await fanVersion(seeded.fan.id)).toBe(before.version);
  expect((await notesOfFan(seeded.fan.id)).filter((n) => n.content === 'Tips on Fridays')).toHaveLength(1);
});

test('without a key the same create makes a second note', async () => {
  const body = { fanId, content: 'No key, twice' };
  const [a, b] = [await rest(body), await rest(body)];
  expect(a.body.data!.id).not.toBe(b.body.data!.id);
});

test('a repeat after a teammate edited the note answers with the note as it is now', async () => {
  const key = randomUUID();
  const created = (await rest({ fanId, content: 'Birthday in May' }, { key })).body.data!;
  const edited = await rest(
    { fanId, noteId: created.id, content: 'Birthday on May 4' },
    { userId: seeded.users.manager },
  );
  const replay = await rest({ fanId, content: 'Birthday in May' }, { key });
  expect(replay.status).toBe(200);
  expect(replay.body.data).toEqual(edited.body.data);
  expect(replay.body.data!.content).toBe('Birthday on May 4');
});

test('a key reused for a different request is refused and changes nothing', async () => {
  const key = randomUUID();
  await rest({ fanId, content: 'Prefers videos' }, { key });
  const before = await rowCounts(app);
  for (const body of [
    { fanId, content: 'Prefers photos' },
    { fanId, content: 'Prefers videos', isPinned: true },
  ]) {
    const reply = await rest(body, { key });
    expect(reply.status).toBe(400);
    expect(reply.body.error).toMatchObject({
      code: 'validation_error',
      message: 'This Idempotency-Key was already used for a different request.',
      details: { header: 'Idempotency-Key', reason: 'key reused' },
    });
  }
  expect(await rowCounts(app)).toEqual(before);
});

test("another user's keys are their own: the same key and body is a new request for them", async () => {
  const key = randomUUID();
  const body = { fanId, content: `Two chatters, one key ${key}` };
  const mine = (await rest(body, { key })).body.data!;
  const theirs = await rest(body, { key, userId: seeded.users.manager });
  expect(theirs.status).toBe(200);
  expect(theirs.body.data!.id).not.toBe(mine.id);
});

test('the same key from the same user for another fan is a different request', async () => {
  const key = randomUUID();
  const owner = seeded.users.owner;
  expect((await rest({ fanId, content: 'Same text' }, { key, userId: owner })).status).toBe(200);
  const before = await rowCounts(app);
  const other = await rest({ fanId: '778', content: 'Same text' }, { key, userId: owner });
  expect(other.status).toBe(400);
  expect(other.body.error!.code).toBe('validation_error');
  expect(await rowCounts(app)).toEqual(before);
});

test('two requests with the same key at the same moment write one note', async () => {
  const key = randomUUID();
  const body = { fanId, content: `Sent twice at once ${key}` };
  const replies = await Promise.all([rest(body, { key }), rest(body, { key }), rest(body, { key })]);
  for (const reply of replies) expect(reply.status).toBe(200);
  expect(new Set(replies.map((reply) => reply.body.data!.id)).size).toBe(1);
  expect((await notesOfFan(seeded.fan.id)).filter((n) => n.content === body.content)).toHaveLength(1);
});

test('the same key for two fans at the same moment: one is written, the other refused', async () => {
  const key = randomUUID();
  const owner = seeded.users.owner;
  const before = await rowCounts(app);
  const replies = await Promise.all([
    rest({ fanId, content: `Race ${key}` }, { key, userId: owner }),
    rest({ fanId: '778', content: `Race ${key}` }, { key, userId: owner }),
  ]);
  expect(replies.map((reply) => reply.status).sort()).toEqual([200, 400]);
  expect(replies.find((reply) => reply.status === 400)!.body.error).toMatchObject({
    code: 'validation_error',
    details: { reason: 'key reused' },
  });
  const after = await rowCounts(app);
  expect(after.notes).toBe(before.notes! + 1);
  expect(after.idempotency_keys).toBe(before.idempotency_keys! + 1);
});

test('a key is remembered for a day: a repeat after that writes again', async () => {
  const key = randomUUID();
  const body = { fanId, content: `A day apart ${key}` };
  const first = (await rest(body, { key })).body.data!;
  app.clock.advance(23 * 3600 * 1000);
  expect((await rest(body, { key })).body.data!.id).toBe(first.id);
  app.clock.advance(2 * 3600 * 1000);
  const later = (await rest(body, { key })).body.data!;
  expect(later.id).not.toBe(first.id);
  // The expired row was taken over by the new request, not kept beside it.
  const rows = await app.database.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, key));
  expect(rows.map((row) => row.noteId)).toEqual([later.id]);
});

test('a repeat after the note was deleted is answered 404, and nothing is recreated', async () => {
  const key = randomUUID();
  const body = { fanId, content: `Deleted later ${key}` };
  const created = (await rest(body, { key })).body.data!;
  expect((await rest({ fanId, noteId: created.id }, { path: '/api/v2/delete-note' })).status).toBe(200);
  const before = await rowCounts(app);
  const replay = await rest(body, { key });
  expect(replay.status).toBe(404);
  expect(replay.body.error).toMatchObject({ code: 'resource_not_found' });
  expect(await rowCounts(app)).toEqual(before);
});

test("a removed member's replay in an account of their own is a new note there, never the old account's note", async () => {
  // The attack: chatter C creates a note with key K; the owner edits it and removes C; C registers an
  // account of their own, adds the same fan id there and sends the same request with K again.
  const c = randomUUID();
  const now = app.clock.now();
  await app.database.db
    .insert(memberships)
    .values({ accountId: seeded.account.id, userId: c, role: 'chatter', createdAt: now, updatedAt: now });
  const key = randomUUID();
  const body = { fanId, content: `Written before leaving ${key}` };
  const original = (await rest(body, { key, userId: c })).body.data!;
  const edited = await rest(
    { fanId, noteId: original.id, content: 'The owner rewrote this after C left' },
    { userId: seeded.users.owner },
  );
  expect(edited.status).toBe(200);
  const removal = await fetch(`${base}/api/v2/accounts/${seeded.account.id}/members/${c}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${await app.token(seeded.users.owner)}` },
  });
  expect(removal.status).toBe(200);
  const own = await rest(
    { onlyFansUserId: String(900_000_000 + Math.floor(Math.random() * 1e6)), username: 'c_own_page' },
    { userId: c, path: '/api/v2/accounts' },
  );
  expect(own.status).toBe(200);
  const ownAccountId = (own.body.data as unknown as { id: string }).id;
  expect((await rest({ accountId: ownAccountId, fanId }, { userId: c, path: '/api/v2/fans' })).status).toBe(
    200,
  );
  const oldNoteBefore = (await notesOfFan(seeded.fan.id)).find((n) => n.id === original.id);

  const replay = await rest(body, { key, userId: c });
  expect(replay.status).toBe(200);
  const note = replay.body.data!;
  expect(note.id).not.toBe(original.id);
  expect(note.accountId).toBe(ownAccountId);
  expect(note.content).toBe(body.content);
  expect(note.createdBy).toBe(c);
  // Nothing of the old account is in the answer, and its note is untouched.
  expect(JSON.stringify(replay.body)).not.toContain('The owner rewrote this');
  expect(JSON.stringify(replay.body)).not.toContain(seeded.account.id);
  expect((await notesOfFan(seeded.fan.id)).find((n) => n.id === original.id)).toEqual(oldNoteBefore);
  // The key now belongs to the request that was served: its own repeat replays the new note.
  const again = await rest(body, { key, userId: c });
  expect(again).toEqual(replay);
});

test('a quoted key (the draft standard writes it as a string) is the same key', async () => {
  const key = randomUUID();
  const body = { fanId, content: `Quoted ${key}` };
  const bare = await rest(body, { key });
  expect(await rest(body, { key: `"${key}"` })).toEqual(bare);
});

describe('a key that is not 1 to 255 visible ASCII characters is refused, and nothing is written', () => {
  for (const [name, key] of [
    ['empty', ''],
    ['256 characters', 'k'.repeat(256)],
    ['a space inside', 'two words'],
    ['sent twice', ['one', 'two']],
    ['an empty quoted string', '""'],
  ] as const) {
    test(name, async () => {
      const before = await rowCounts(app);
      const reply = await rest({ fanId, content: `bad key: ${name}` }, { key: [key].flat() });
      expect(reply.status).toBe(400);
      expect(reply.body.error).toMatchObject({
        code: 'validation_error',
        message: 'Idempotency-Key must be 1 to 255 visible ASCII characters.',
      });
      expect(await rowCounts(app)).toEqual(before);
    });
  }
});

test('tRPC notes.update honours the same header', async () => {
  const key = randomUUID();
  const send = async () => {
    const response = await fetch(`${base}/trpc/notes.update`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await app.token(seeded.users.chatter)}`,
        'content-type': 'application/json',
        'idempotency-key': key,
      },
      body: JSON.stringify({ fanId, content: `Over tRPC ${key}` }),
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { result: { data: { data: Note } } }).result.data.data;
  };
  const first = await send();
  expect(await send()).toEqual(first);
  expect((await notesOfFan(seeded.fan.id)).filter((n) => n.content === `Over tRPC ${key}`)).toHaveLength(1);
});

test('browsers may send the header: CORS preflight allows it', async () => {
  const response = await fetch(`${base}/api/v2/update-note`, {
    method: 'OPTIONS',
    headers: {
      origin: 'https://app.example.com',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type, idempotency-key',
    },
  });
  expect(response.status).toBe(204);
  expect(response.headers.get('access-control-allow-headers')).toContain('idempotency-key');
});

test('the OpenAPI document describes the header on update-note', async () => {
  const document = (await (await fetch(`${base}/api/openapi.json`)).json()) as {
    paths: Record<string, { post: { parameters?: { name: string; in: string }[] } }>;
  };
  expect(document.paths['/v2/update-note']!.post.parameters).toContainEqual(
    expect.objectContaining({ name: 'Idempotency-Key', in: 'header' }),
  );
});

test('an edit from a stale baseVersion saved as a conflict copy: its repeat with the key makes no second copy', async () => {
  const created = (await rest({ fanId, content: 'Shared text' })).body.data!;
  await rest(
    { fanId, noteId: created.id, content: 'A teammate got there first' },
    { userId: seeded.users.manager },
  );
  const key = randomUUID();
  const body = { fanId, noteId: created.id, baseVersion: created.version, content: 'My offline edit' };
  const first = await rest(body, { key });
  expect(first.body.data).toMatchObject({ conflictOf: created.id, content: 'My offline edit' });
  const before = await rowCounts(app);
  expect(await rest(body, { key })).toEqual(first);
  expect(await rowCounts(app)).toEqual(before);
});

describe('the other writes need no key: sent again as they are, they change nothing', () => {
  test('update-note with noteId, with or without the baseVersion it was sent with', async () => {
    for (const withBase of [false, true]) {
      const created = (await rest({ fanId, content: `Retry me ${withBase}` })).body.data!;
      const body = {
        fanId,
        noteId: created.id,
        content: `Retried edit ${withBase}`,
        isPinned: true,
        ...(withBase ? { baseVersion: created.version } : {}),
      };
      const first = await rest(body);
      expect(first.body.data).toMatchObject({ id: created.id, conflictOf: null });
      const before = { counts: await rowCounts(app), version: await fanVersion(seeded.fan.id) };
      app.clock.advance(1_000);
      const again = await rest(body);
      expect(again).toEqual(first);
      expect({ counts: await rowCounts(app), version: await fanVersion(seeded.fan.id) }).toEqual(before);
    }
  });

  test('update-of-note and delete-note', async () => {
    const imported = { fanId, onlyFansNoteId: `of-${randomUUID()}`, content: 'From OnlyFans' };
    const created = (await rest({ fanId, content: 'To delete' })).body.data!;
    for (const [path, body] of [
      ['/api/v2/update-of-note', imported],
      ['/api/v2/delete-note', { fanId, noteId: created.id }],
    ] as const) {
      const first = await rest(body, { path });
      expect(first.status).toBe(200);
      const before = { counts: await rowCounts(app), version: await fanVersion(seeded.fan.id) };
      app.clock.advance(1_000);
      expect(await rest(body, { path })).toEqual(first);
      expect({ counts: await rowCounts(app), version: await fanVersion(seeded.fan.id) }).toEqual(before);
    }
  });
});
