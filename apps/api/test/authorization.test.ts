import { randomUUID } from 'node:crypto';
import type {
  Account,
  DeletedNote,
  Fan,
  Member,
  Note,
  RemovedMember,
  SyncNotesData,
} from '@fannotes/contract';
import { fans, memberships, notes } from '@fannotes/db';
import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestApp, rowCounts, seedAccount, type TestApp } from './harness.ts';

// Who may do what, over real HTTP: tenancy (nothing outside your accounts exists for you), roles,
// memberships read from the database on every request, and the owner rules.

interface ErrorBody {
  status: 'error';
  error: { code: string; message: string; details?: { requestId?: string; accountIds?: string[] } };
}

interface Reply<T = unknown> {
  status: number;
  headers: Headers;
  text: string;
  body: T;
}

type Seeded = Awaited<ReturnType<typeof seedAccount>>;

let app: TestApp;
let base: string;
/** The caller's account: fan 12345 with one note. */
let mine: Seeded;
/** Someone else's account: fan 777 with notes the caller must never touch. */
let theirs: Seeded;
let myNoteId: string;
let theirNoteId: string;

beforeAll(async () => {
  app = await createTestApp();
  base = await app.listen();
  mine = await seedAccount(app, '12345');
  theirs = await seedAccount(app, '777');
  const me = await app.caller(mine.users.owner);
  myNoteId = (await me.notes.update({ fanId: '12345', content: 'Mine: likes cats.' })).data.id;
  const them = await app.caller(theirs.users.owner);
  theirNoteId = (
    await them.notes.update({ fanId: '777', content: 'Theirs: VIP, tips weekly.', isPinned: true })
  ).data.id;
  await them.notes.updateFromOnlyFans({ fanId: '777', onlyFansNoteId: '777', content: 'From OnlyFans.' });
});
afterAll(() => app?.close());

/** `userId` joins the account as everyone does: `inviter` creates an invite, `userId` redeems it. */
async function join(inviter: string, accountId: string, userId: string, role: string): Promise<void> {
  const invite = data<{ code: string }>(await post(inviter, `/accounts/${accountId}/invites`, { role }));
  expect(data<{ joined: boolean }>(await post(userId, '/invites/redeem', { code: invite.code })).joined).toBe(
    true,
  );
}

async function send<T = unknown>(
  userId: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<Reply<T>> {
  const headers: Record<string, string> = { authorization: `Bearer ${token ?? (await app.token(userId))}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${base}/api/v2${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: JSON.parse(text) as T };
}

const post = <T = unknown>(userId: string, path: string, body: unknown) =>
  send<T>(userId, 'POST', path, body);

function expectError(reply: Reply, status: number, code: string): ErrorBody {
  expect(reply.status).toBe(status);
  const body = reply.body as ErrorBody;
  expect(body).toMatchObject({ status: 'error', error: { code, message: expect.any(String) } });
  expect(body.error.details?.requestId).toBe(reply.headers.get('x-request-id'));
  expect(reply.text).not.toMatch(/stack|node_modules|\/work\//i);
  return body;
}

function data<T>(reply: Reply, status = 200): T {
  expect(reply.status, reply.text).toBe(status);
  return (reply.body as { status: 'success'; data: T }).data;
}

/** The response body with its request id blanked, byte for byte otherwise. */
function anonymised(reply: Reply): string {
  const requestId = reply.headers.get('x-request-id')!;
  expect(reply.text).toContain(requestId);
  return reply.text.split(requestId).join('<request-id>');
}

const accountNotes = (accountId: string) =>
  app.database.db.select().from(notes).where(eq(notes.accountId, accountId)).orderBy(asc(notes.id));

const accountMembers = (accountId: string) =>
  app.database.db
    .select({ userId: memberships.userId, role: memberships.role })
    .from(memberships)
    .where(eq(memberships.accountId, accountId))
    .orderBy(asc(memberships.userId));

const mutation = (content: string, noteId = `note_${randomUUID()}`) => ({
  clientId: randomUUID(),
  mutations: [{ id: 1, op: 'upsert', noteId, baseVersion: 0, note: { content } }],
});

describe('a fan outside your accounts does not exist for you', () => {
  const probes: [string, (fanId: string, accountId?: string) => Record<string, unknown>][] = [
    ['/sync-notes', (fanId, accountId) => ({ fanId, accountId })],
    ['/update-note', (fanId, accountId) => ({ fanId, accountId, content: 'probe' })],
    ['/delete-note', (fanId, accountId) => ({ fanId, accountId, noteId: `note_${randomUUID()}` })],
    [
      '/update-of-note',
      (fanId, accountId) => ({ fanId, accountId, onlyFansNoteId: fanId, content: 'probe' }),
    ],
  ];

  test.each(probes)(
    '%s: another account’s fan and an unknown fan give byte-identical 404s',
    async (path, input) => {
      const before = await rowCounts(app);
      const theirsBefore = await accountNotes(theirs.account.id);
      const owner = mine.users.owner;
      const foreign = await post(owner, path, input('777'));
      const unknown = await post(owner, path, input('999999'));
      const foreignNamed = await post(owner, path, input('777', theirs.account.id));
      const unknownAccount = await post(owner, path, input('777', randomUUID()));
      const mineInTheirs = await post(owner, path, input('12345', theirs.account.id));
      // A viewer of the caller's account is not told "forbidden" about a fan it cannot see.
      const viewer = await post(mine.users.viewer, path, input('777'));
      for (const reply of [foreign, unknown, foreignNamed, unknownAccount, mineInTheirs, viewer]) {
        expectError(reply, 404, 'resource_not_found');
      }
      expect(anonymised(foreign)).toBe(anonymised(unknown));
      for (const reply of [foreignNamed, unknownAccount, mineInTheirs, viewer]) {
        expect(anonymised(reply)).toBe(anonymised(unknown));
      }
      expect(JSON.parse(anonymised(unknown))).toMatchInlineSnapshot(`
        {
          "error": {
            "code": "resource_not_found",
            "details": {
              "requestId": "<request-id>",
            },
            "message": "Fan not found.",
          },
          "status": "error",
        }
      `);
      expect(await rowCounts(app)).toEqual(before);
      expect(await accountNotes(theirs.account.id)).toEqual(theirsBefore);
    },
  );

  test('another account and an unknown account give byte-identical 404s for fans and members', async () => {
    const before = await rowCounts(app);
    const owner = mine.users.owner;
    const fanForeign = await post(owner, '/fans', { accountId: theirs.account.id, fanId: '31337' });
    const fanUnknown = await post(owner, '/fans', { accountId: randomUUID(), fanId: '31337' });
    const membersForeign = await send(owner, 'GET', `/accounts/${theirs.account.id}/members`);
    const membersUnknown = await send(owner, 'GET', `/accounts/${randomUUID()}/members`);
    const addForeign = await post(owner, `/accounts/${theirs.account.id}/members`, {
      userId: owner,
      role: 'owner',
    });
    const addUnknown = await post(owner, `/accounts/${randomUUID()}/members`, {
      userId: owner,
      role: 'owner',
    });
    for (const reply of [fanForeign, fanUnknown, membersForeign, membersUnknown, addForeign, addUnknown]) {
      expectError(reply, 404, 'resource_not_found');
    }
    expect(anonymised(fanForeign)).toBe(anonymised(fanUnknown));
    expect(anonymised(membersForeign)).toBe(anonymised(membersUnknown));
    expect(anonymised(addForeign)).toBe(anonymised(addUnknown));
    expect(await rowCounts(app)).toEqual(before);
    expect(await accountMembers(theirs.account.id)).not.toContainEqual({ userId: owner, role: 'owner' });
  });
});

describe('roles', () => {
  test('a viewer can read but every write is 403 permission_denied and changes no row of the account', async () => {
    app.clock.advance(60_000);
    const viewer = mine.users.viewer;
    const read = data<SyncNotesData>(await post(viewer, '/sync-notes', { fanId: '12345' }));
    expect(read.notes.map((note) => note.id)).toContain(myNoteId);

    const before = await rowCounts(app);
    const notesBefore = await accountNotes(mine.account.id);
    const writes: [string, unknown][] = [
      ['/update-note', { fanId: '12345', content: 'viewer create' }],
      ['/update-note', { fanId: '12345', noteId: myNoteId, content: 'viewer edit' }],
      ['/update-note', { fanId: '12345', noteId: myNoteId, content: 'Mine: likes cats.', isPinned: true }],
      ['/delete-note', { fanId: '12345', noteId: myNoteId }],
      ['/update-of-note', { fanId: '12345', onlyFansNoteId: '12345', content: 'viewer import' }],
      ['/fans', { accountId: mine.account.id, fanId: '888', name: 'New fan' }],
      ['/fans', { accountId: mine.account.id, fanId: '12345', name: 'Renamed' }],
      ['/sync-notes', { fanId: '12345', ...mutation('viewer sync') }],
      [
        '/sync-notes',
        { fanId: '12345', force: true, onlyFansNotes: [{ onlyFansNoteId: '1', content: 'x' }] },
      ],
    ];
    for (const [path, body] of writes) {
      const error = expectError(await post(viewer, path, body), 403, 'permission_denied');
      expect(error.error.message).toMatch(/viewer/);
    }
    // Only the viewer's own sync client moved on past its refused mutation (issue 14: so that it
    // never wedges); nothing of the account changed.
    expect(await rowCounts(app)).toEqual({ ...before, sync_clients: before.sync_clients! + 1 });
    expect(await accountNotes(mine.account.id)).toEqual(notesBefore);
    const [fan] = await app.database.db
      .select()
      .from(fans)
      .where(and(eq(fans.accountId, mine.account.id), eq(fans.fanId, '12345')));
    expect(fan!.name).toBeNull();
  });

  test('a viewer’s write is refused with the documented body', async () => {
    const reply = await post(mine.users.viewer, '/update-note', { fanId: '12345', content: 'x' });
    const body = expectError(reply, 403, 'permission_denied');
    expect({ ...body, error: { ...body.error, details: { requestId: '<request-id>' } } })
      .toMatchInlineSnapshot(`
      {
        "error": {
          "code": "permission_denied",
          "details": {
            "requestId": "<request-id>",
          },
          "message": "The viewer role cannot write notes or register fans.",
        },
        "status": "error",
      }
    `);
  });

  test.each(['owner', 'manager', 'chatter'] as const)(
    'a %s can write notes and register fans',
    async (role) => {
      const userId = mine.users[role];
      const created = data<Note>(
        await post(userId, '/update-note', { fanId: '12345', content: `${role} wrote this` }),
      );
      expect(created).toMatchObject({ fanId: '12345', accountId: mine.account.id, createdBy: userId });

      const edited = data<Note>(
        await post(userId, '/update-note', {
          fanId: '12345',
          noteId: created.id,
          content: `${role} edited this`,
        }),
      );
      expect(edited).toMatchObject({ id: created.id, content: `${role} edited this`, updatedBy: userId });

      const imported = data<Note>(
        await post(userId, '/update-of-note', {
          fanId: '12345',
          onlyFansNoteId: `of-${role}`,
          content: 'imported',
        }),
      );
      expect(imported).toMatchObject({ source: 'onlyfans', onlyFansNoteId: `of-${role}` });

      const fanId = String(60_000 + ['owner', 'manager', 'chatter'].indexOf(role));
      const fan = data<Fan>(
        await post(userId, '/fans', { accountId: mine.account.id, fanId, name: `Fan of ${role}` }),
      );
      expect(fan).toMatchObject({ accountId: mine.account.id, fanId, name: `Fan of ${role}` });

      const noteId = `note_${randomUUID()}`;
      const synced = data<SyncNotesData>(
        await post(userId, '/sync-notes', { fanId: '12345', ...mutation(`${role} offline`, noteId) }),
      );
      expect(synced.results).toEqual([{ id: 1, noteId, status: 'applied' }]);

      const deleted = data<DeletedNote>(
        await post(userId, '/delete-note', { fanId: '12345', noteId: created.id }),
      );
      expect(deleted).toMatchObject({ id: created.id, deletedAt: app.clock.now().toISOString() });
    },
  );
});

describe('memberships are read from the database on every request', () => {
  test('a membership deleted in the database takes effect at once, with the same token', async () => {
    const account = await seedAccount(app, '4321');
    const chatter = account.users.chatter;
    const token = await app.token(chatter);
    app.clock.advance(60_000);
    expect((await send(chatter, 'POST', '/sync-notes', { fanId: '4321' }, token)).status).toBe(200);
    expect(data<Account[]>(await send(chatter, 'GET', '/accounts', undefined, token))).toHaveLength(1);

    await app.database.db
      .delete(memberships)
      .where(and(eq(memberships.accountId, account.account.id), eq(memberships.userId, chatter)));

    const before = await rowCounts(app);
    expectError(
      await send(chatter, 'POST', '/sync-notes', { fanId: '4321' }, token),
      404,
      'resource_not_found',
    );
    expectError(
      await send(chatter, 'POST', '/update-note', { fanId: '4321', content: 'still here?' }, token),
      404,
      'resource_not_found',
    );
    expectError(
      await send(chatter, 'GET', `/accounts/${account.account.id}/members`, undefined, token),
      404,
      'resource_not_found',
    );
    expect(data<Account[]>(await send(chatter, 'GET', '/accounts', undefined, token))).toEqual([]);
    expect(await rowCounts(app)).toEqual(before);
  });

  test('a role lowered in the database takes effect at once', async () => {
    const account = await seedAccount(app, '4322');
    const chatter = account.users.chatter;
    expect((await post(chatter, '/update-note', { fanId: '4322', content: 'as chatter' })).status).toBe(200);
    await app.database.db
      .update(memberships)
      .set({ role: 'viewer' })
      .where(and(eq(memberships.accountId, account.account.id), eq(memberships.userId, chatter)));
    expectError(
      await post(chatter, '/update-note', { fanId: '4322', content: 'as viewer' }),
      403,
      'permission_denied',
    );
  });
});

describe('a note id from another account', () => {
  test('in update-note or delete-note is 404 and the other account’s notes stay byte-identical', async () => {
    const before = await accountNotes(theirs.account.id);
    const counts = await rowCounts(app);
    const owner = mine.users.owner;
    const attempts = [
      await post(owner, '/update-note', { fanId: '12345', noteId: theirNoteId, content: 'overwritten' }),
      await post(owner, '/update-note', {
        fanId: '12345',
        noteId: theirNoteId,
        content: 'x',
        isPinned: false,
      }),
      await post(owner, '/update-note', {
        fanId: '12345',
        noteId: theirNoteId,
        baseVersion: 0,
        content: 'conflict copy?',
      }),
      await post(owner, '/delete-note', { fanId: '12345', noteId: theirNoteId }),
      await post(owner, '/delete-note', { fanId: '12345', noteId: theirNoteId, baseVersion: 1 }),
    ];
    const unknownNote = await post(owner, '/delete-note', { fanId: '12345', noteId: `note_${randomUUID()}` });
    for (const reply of [...attempts, unknownNote]) {
      const body = expectError(reply, 404, 'resource_not_found');
      expect(body.error.message).toBe('Note not found.');
    }
    // Another account's note and no note at all cannot be told apart.
    expect(anonymised(attempts[3]!)).toBe(anonymised(unknownNote));
    expect(await accountNotes(theirs.account.id)).toEqual(before);
    expect(await rowCounts(app)).toEqual(counts);
  });

  test('in a sync mutation is rejected as not found and the other account’s notes stay byte-identical', async () => {
    const before = await accountNotes(theirs.account.id);
    const clientId = randomUUID();
    const synced = data<SyncNotesData>(
      await post(mine.users.chatter, '/sync-notes', {
        fanId: '12345',
        clientId,
        mutations: [
          { id: 1, op: 'upsert', noteId: theirNoteId, baseVersion: 0, note: { content: 'hijack' } },
          { id: 2, op: 'delete', noteId: theirNoteId, baseVersion: 1 },
        ],
      }),
    );
    expect(synced.results).toEqual([
      { id: 1, noteId: theirNoteId, status: 'rejected', reason: 'note not found' },
      { id: 2, noteId: theirNoteId, status: 'rejected', reason: 'note not found' },
    ]);
    expect(synced.notes.map((note) => note.id)).not.toContain(theirNoteId);
    expect(await accountNotes(theirs.account.id)).toEqual(before);
  });

  test('a note of another fan of the same account is not found under this fan', async () => {
    const owner = mine.users.owner;
    data<Fan>(await post(owner, '/fans', { accountId: mine.account.id, fanId: '55555' }));
    const other = data<Note>(
      await post(owner, '/update-note', { fanId: '55555', content: 'About fan 55555.' }),
    );
    const before = await accountNotes(mine.account.id);
    expectError(
      await post(owner, '/update-note', { fanId: '12345', noteId: other.id, content: 'moved?' }),
      404,
      'resource_not_found',
    );
    expectError(
      await post(owner, '/delete-note', { fanId: '12345', noteId: other.id }),
      404,
      'resource_not_found',
    );
    expect(await accountNotes(mine.account.id)).toEqual(before);
  });
});

describe('accounts and members', () => {
  test('registering an account makes the caller its owner', async () => {
    const user = randomUUID();
    const account = data<Account>(
      await post(user, '/accounts', { onlyFansUserId: '5550001', username: ' creator_one ' }),
    );
    expect(account).toMatchObject({ onlyFansUserId: '5550001', username: 'creator_one', role: 'owner' });
    expect(data<Account[]>(await send(user, 'GET', '/accounts'))).toEqual([account]);
    const members = data<Member[]>(await send(user, 'GET', `/accounts/${account.id}/members`));
    expect(members).toEqual([
      expect.objectContaining({ accountId: account.id, userId: user, role: 'owner' }),
    ]);
  });

  test('registering a creator another team registered makes a new account, and reveals nothing of theirs', async () => {
    const owner = randomUUID();
    const account = data<Account>(
      await post(owner, '/accounts', { onlyFansUserId: '5550002', username: 'two' }),
    );
    const membersBefore = await accountMembers(account.id);
    const stranger = randomUUID();
    const theirsNow = data<Account>(
      await post(stranger, '/accounts', { onlyFansUserId: '5550002', username: 'mine now' }),
    );
    expect(theirsNow).toEqual({
      id: expect.not.stringMatching(account.id),
      onlyFansUserId: '5550002',
      username: 'mine now',
      role: 'owner',
      createdAt: expect.any(String),
    });
    expect(await accountMembers(account.id)).toEqual(membersBefore);
    expect(data<Account[]>(await send(stranger, 'GET', '/accounts'))).toEqual([theirsNow]);
    expectError(await send(stranger, 'GET', `/accounts/${account.id}/members`), 404, 'resource_not_found');
  });

  test('registering an already registered account as a member returns it with the member’s role, unchanged', async () => {
    const owner = randomUUID();
    const account = data<Account>(
      await post(owner, '/accounts', { onlyFansUserId: '5550003', username: 'three' }),
    );
    const viewer = randomUUID();
    await join(owner, account.id, viewer, 'viewer');
    const before = await rowCounts(app);
    const again = data<Account>(
      await post(viewer, '/accounts', { onlyFansUserId: '5550003', username: 'renamed' }),
    );
    expect(again).toEqual({ ...account, role: 'viewer' });
    const ownerAgain = data<Account>(
      await post(owner, '/accounts', { onlyFansUserId: '5550003', username: 'x' }),
    );
    expect(ownerAgain).toEqual(account);
    expect(await rowCounts(app)).toEqual(before);
    expect(await accountMembers(account.id)).toContainEqual({ userId: viewer, role: 'viewer' });
  });

  test('a chatter or a viewer cannot add members', async () => {
    const before = await rowCounts(app);
    for (const user of [mine.users.chatter, mine.users.viewer]) {
      for (const role of ['viewer', 'chatter', 'owner']) {
        expectError(
          await post(user, `/accounts/${mine.account.id}/members`, { userId: randomUUID(), role }),
          403,
          'permission_denied',
        );
      }
    }
    // Nor promote themselves.
    expectError(
      await post(mine.users.chatter, `/accounts/${mine.account.id}/members`, {
        userId: mine.users.chatter,
        role: 'manager',
      }),
      403,
      'permission_denied',
    );
    expect(await rowCounts(app)).toEqual(before);
  });

  test('a manager can change a member to chatter but cannot make, demote or remove an owner', async () => {
    const account = await seedAccount(app, '4323');
    const manager = account.users.manager;
    const promoted = data<Member>(
      await post(manager, `/accounts/${account.account.id}/members`, {
        userId: account.users.viewer,
        role: 'chatter',
      }),
    );
    expect(promoted).toMatchObject({
      accountId: account.account.id,
      userId: account.users.viewer,
      role: 'chatter',
    });
    expect(
      (await post(account.users.viewer, '/update-note', { fanId: '4323', content: 'new chatter' })).status,
    ).toBe(200);

    const before = await accountMembers(account.account.id);
    const refused = [
      await post(manager, `/accounts/${account.account.id}/members`, {
        userId: account.users.chatter,
        role: 'owner',
      }),
      await post(manager, `/accounts/${account.account.id}/members`, { userId: manager, role: 'owner' }),
      await post(manager, `/accounts/${account.account.id}/members`, {
        userId: account.users.owner,
        role: 'viewer',
      }),
      await send(manager, 'DELETE', `/accounts/${account.account.id}/members/${account.users.owner}`),
    ];
    for (const reply of refused) expectError(reply, 403, 'permission_denied');
    expect(await accountMembers(account.account.id)).toEqual(before);
  });

  test('the members endpoint makes nobody a member: a user who is not one is 404, "invite them"', async () => {
    const account = await seedAccount(app, '4327');
    const before = await rowCounts(app);
    const outsider = randomUUID();
    for (const [actor, role] of [
      [account.users.owner, 'chatter'],
      [account.users.owner, 'owner'],
      [account.users.manager, 'viewer'],
    ] as const) {
      const body = expectError(
        await post(actor, `/accounts/${account.account.id}/members`, { userId: outsider, role }),
        404,
        'resource_not_found',
      );
      expect(body.error.message).toContain('invite them');
    }
    expect(await rowCounts(app)).toEqual(before);
    expect(data<Account[]>(await send(outsider, 'GET', '/accounts'))).toEqual([]);
  });

  test('the last owner can be neither removed nor demoted; with a second owner they can step down', async () => {
    const account = await seedAccount(app, '4324');
    const owner = account.users.owner;
    const path = `/accounts/${account.account.id}/members`;
    const before = await accountMembers(account.account.id);
    const removed = expectError(await send(owner, 'DELETE', `${path}/${owner}`), 400, 'validation_error');
    expect({ ...removed, error: { ...removed.error, details: { requestId: '<request-id>' } } })
      .toMatchInlineSnapshot(`
      {
        "error": {
          "code": "validation_error",
          "details": {
            "requestId": "<request-id>",
          },
          "message": "An account must keep at least one owner.",
        },
        "status": "error",
      }
    `);
    expectError(await post(owner, path, { userId: owner, role: 'manager' }), 400, 'validation_error');
    expect(await accountMembers(account.account.id)).toEqual(before);

    const second = account.users.manager;
    expect(data<Member>(await post(owner, path, { userId: second, role: 'owner' })).role).toBe('owner');
    expect(data<Member>(await post(owner, path, { userId: owner, role: 'manager' })).role).toBe('manager');
    // The new sole owner is now the last one.
    expectError(await send(second, 'DELETE', `${path}/${second}`), 400, 'validation_error');
  });

  test('listing members as a non-member is 404', async () => {
    const stranger = randomUUID();
    const body = expectError(
      await send(stranger, 'GET', `/accounts/${mine.account.id}/members`),
      404,
      'resource_not_found',
    );
    expect(body.error.message).toBe('Account not found.');
    expectError(
      await send(theirs.users.owner, 'GET', `/accounts/${mine.account.id}/members`),
      404,
      'resource_not_found',
    );
    const members = data<Member[]>(
      await send(mine.users.viewer, 'GET', `/accounts/${mine.account.id}/members`),
    );
    expect(members.map((member) => member.userId).sort()).toEqual(
      expect.arrayContaining(Object.values(mine.users)),
    );
  });

  test('DELETE /api/v2/accounts/{accountId}/members/{userId} works with no body', async () => {
    const account = await seedAccount(app, '4325');
    const path = `/accounts/${account.account.id}/members/${account.users.viewer}`;
    const response = await fetch(`${base}/api/v2${path}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${await app.token(account.users.manager)}` },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      status: 'success',
      data: { accountId: account.account.id, userId: account.users.viewer, removed: true },
    } satisfies { status: 'success'; data: RemovedMember });
    expect(await accountMembers(account.account.id)).not.toContainEqual(
      expect.objectContaining({ userId: account.users.viewer }),
    );
    expectError(
      await send(account.users.viewer, 'POST', '/sync-notes', { fanId: '4325' }),
      404,
      'resource_not_found',
    );
    // Removing them again: there is no such member.
    expectError(await send(account.users.manager, 'DELETE', path), 404, 'resource_not_found');
  });

  test('a member may leave an account on their own', async () => {
    const account = await seedAccount(app, '4326');
    const chatter = account.users.chatter;
    const left = data<RemovedMember>(
      await send(chatter, 'DELETE', `/accounts/${account.account.id}/members/${chatter}`),
    );
    expect(left).toEqual({ accountId: account.account.id, userId: chatter, removed: true });
    expect(data<Account[]>(await send(chatter, 'GET', '/accounts'))).toEqual([]);
  });
});

describe('a fan in several of your accounts', () => {
  let first: Seeded;
  let second: Seeded;
  let user: string;

  beforeAll(async () => {
    first = await seedAccount(app, '4242');
    second = await seedAccount(app, '4242');
    user = first.users.chatter;
    await join(second.users.owner, second.account.id, user, 'chatter');
  });

  test('without accountId is 400 validation_error asking for accountId, listing the accounts', async () => {
    app.clock.advance(60_000);
    const before = await rowCounts(app);
    for (const [path, body] of [
      ['/sync-notes', { fanId: '4242' }],
      ['/update-note', { fanId: '4242', content: 'which one?' }],
      ['/delete-note', { fanId: '4242', noteId: `note_${randomUUID()}` }],
    ] as const) {
      const error = expectError(await post(user, path, body), 400, 'validation_error');
      expect(error.error.message).toContain('accountId');
      expect([...error.error.details!.accountIds!].sort()).toEqual(
        [first.account.id, second.account.id].sort(),
      );
    }
    expect(await rowCounts(app)).toEqual(before);
  });

  test('with accountId the call goes to that account', async () => {
    app.clock.advance(60_000);
    const synced = data<SyncNotesData>(
      await post(user, '/sync-notes', { fanId: '4242', accountId: second.account.id }),
    );
    expect(synced.synchronized).toBe(true);
    const created = data<Note>(
      await post(user, '/update-note', {
        fanId: '4242',
        accountId: second.account.id,
        content: 'in the second',
      }),
    );
    expect(created.accountId).toBe(second.account.id);
    expect((await accountNotes(first.account.id)).map((note) => note.id)).not.toContain(created.id);
  });

  test('a member of only one of the accounts is not told the fan exists elsewhere', async () => {
    app.clock.advance(60_000);
    const synced = data<SyncNotesData>(await post(first.users.owner, '/sync-notes', { fanId: '4242' }));
    expect(synced.synchronized).toBe(true);
    expect(synced.notes.every((note) => note.accountId === first.account.id)).toBe(true);
  });
});
