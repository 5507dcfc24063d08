import { randomUUID } from 'node:crypto';
import type { Note, SyncNotesData } from '@fannotes/contract';
import { fans } from '@fannotes/db';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTestApp, seedAccount, type TestApp } from './harness.ts';

// Issue 14.4: a REST caller writing `{"fanId": "1", "cursor": null}` (Python's None, a JSON encoder's
// default for a missing value) got a validation_error. An optional request field sent as null is
// now the same as one left out, over REST and tRPC alike; only a note's colour gives null a meaning
// of its own (it clears the colour).

let app: TestApp;
let base: string;
let seeded: Awaited<ReturnType<typeof seedAccount>>;
beforeAll(async () => {
  app = await createTestApp();
  base = await app.listen();
  seeded = await seedAccount(app);
  const owner = await app.caller(seeded.users.owner);
  await owner.notes.update({ fanId: '12345', content: 'Likes cats.', color: '#FF0000' });
});
afterAll(() => app?.close());

async function call<T>(surface: 'rest' | 'trpc', path: string, procedure: string, body: object) {
  const url = surface === 'rest' ? `${base}/api/v2${path}` : `${base}/trpc/${procedure}`;
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await app.token(seeded.users.chatter)}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as { data?: T; result?: { data: { data: T } } };
  return { status: response.status, data: (surface === 'rest' ? json.data : json.result?.data.data) as T };
}

for (const surface of ['rest', 'trpc'] as const) {
  test(`${surface}: a sync with every optional field null is a plain sync`, async () => {
    app.clock.advance(60_000);
    const reply = await call<SyncNotesData>(surface, '/sync-notes', 'notes.sync', {
      fanId: '12345',
      accountId: null,
      force: null,
      clientId: null,
      cursor: null,
      mutations: null,
      onlyFansNotes: null,
    });
    expect(reply.status).toBe(200);
    expect(reply.data).toMatchObject({ reset: true, lastMutationId: null });
    expect(reply.data.notes.map((note) => note.content)).toContain('Likes cats.');
  });

  test(`${surface}: a note written with null optional fields gets their defaults, and null still clears a colour`, async () => {
    const created = await call<Note>(surface, '/update-note', 'notes.update', {
      fanId: '12345',
      accountId: null,
      noteId: null,
      baseVersion: null,
      content: `Made with nulls (${surface})`,
      type: null,
      color: '#00AFF0',
      isPinned: null,
    });
    expect(created.status).toBe(200);
    expect(created.data).toMatchObject({ type: 'personal', isPinned: false, color: '#00AFF0' });
    const cleared = await call<Note>(surface, '/update-note', 'notes.update', {
      fanId: '12345',
      noteId: created.data.id,
      content: created.data.content,
      type: null,
      color: null,
    });
    expect(cleared.data).toMatchObject({ id: created.data.id, type: 'personal', color: null });
  });

  test(`${surface}: a mutation whose note text is null restyles the note, keeping its text`, async () => {
    const made = await call<Note>(surface, '/update-note', 'notes.update', {
      fanId: '12345',
      content: `Restyled later (${surface})`,
    });
    const synced = await call<SyncNotesData>(surface, '/sync-notes', 'notes.sync', {
      fanId: '12345',
      clientId: randomUUID(),
      mutations: [
        {
          id: 1,
          op: 'upsert',
          noteId: made.data.id,
          baseVersion: made.data.version,
          note: { content: null, type: null, isPinned: true },
        },
      ],
    });
    expect(synced.status).toBe(200);
    expect(synced.data.results).toEqual([{ id: 1, noteId: made.data.id, status: 'applied' }]);
    expect(synced.data.notes.find((note) => note.id === made.data.id)).toMatchObject({
      content: `Restyled later (${surface})`,
      isPinned: true,
    });
  });
}

test('a fan registered with a null name keeps the name it has', async () => {
  const owner = await app.caller(seeded.users.owner);
  await owner.fans.upsert({ accountId: seeded.account.id, fanId: '12345', name: 'Sam' });
  const response = await fetch(`${base}/api/v2/fans`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await app.token(seeded.users.owner)}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ accountId: seeded.account.id, fanId: '12345', name: null, username: null }),
  });
  expect(response.status).toBe(200);
  const [fan] = await app.database.db.select().from(fans).where(eq(fans.id, seeded.fan.id));
  expect(fan!.name).toBe('Sam');
});

test('the OpenAPI document shows optional fields as nullable and says what null means', async () => {
  const document = (await (await fetch(`${base}/api/openapi.json`)).json()) as {
    info: { description: string };
    paths: Record<
      string,
      {
        post: {
          requestBody: { content: Record<string, { schema: { properties: Record<string, object> } }> };
        };
      }
    >;
  };
  const sync = document.paths['/v2/sync-notes']!.post.requestBody.content['application/json']!.schema;
  expect(JSON.stringify(sync.properties.cursor)).toContain('"null"');
  expect(document.info.description).toContain('may be sent as `null`');
});
