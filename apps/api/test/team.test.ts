import { randomUUID } from 'node:crypto';
import {
  parseInviteCode,
  type Account,
  type CreatedInvite,
  type Invite,
  type Member,
  type Profile,
  type RedeemedInvite,
} from '@fannotes/contract';
import { invites, memberships } from '@fannotes/db';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mintToken } from '../src/auth/dev-keys.ts';
import { createTestApp, ISSUER, rowCounts, seedAccount, type TestApp } from './harness.ts';

// Teams over real HTTP (issue 17): invites (nobody joins without redeeming one), display names, and one
// OnlyFans creator registered by several agencies that never learn of each other.

interface Reply<T = unknown> {
  status: number;
  text: string;
  body: T;
  requestId: string | null;
}

interface ErrorBody {
  status: 'error';
  error: { code: string; message: string; details?: Record<string, unknown> };
}

type Seeded = Awaited<ReturnType<typeof seedAccount>>;

const PUBLIC_URL = 'https://api.fannotes.example';
const CODE = /^FN-[0-9A-HJKMNP-TV-Z]{26}$/;
const HOUR = 3_600_000;

let app: TestApp;
let base: string;

beforeAll(async () => {
  // Races of one user's requests need more than the default 4 at once.
  app = await createTestApp({ publicUrl: PUBLIC_URL, concurrent: 16 });
  base = await app.listen();
});
afterAll(() => app?.close());

/** A Supabase-like token: `email` and `user_metadata` as Supabase writes them. */
interface Identity {
  email?: string;
  userMetadata?: Record<string, unknown>;
}
const identities = new Map<string, Identity>();

const tokenOf = (userId: string) =>
  mintToken({
    secret: app.secret,
    issuer: ISSUER,
    userId,
    now: Math.floor(app.clock.now().getTime() / 1000),
    ...identities.get(userId),
  });

async function send<T = unknown>(
  userId: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Reply<T>> {
  const headers: Record<string, string> = { authorization: `Bearer ${await tokenOf(userId)}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${base}/api/v2${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    text,
    body: JSON.parse(text) as T,
    requestId: response.headers.get('x-request-id'),
  };
}
const post = <T = unknown>(userId: string, path: string, body: unknown) =>
  send<T>(userId, 'POST', path, body);
const get = <T = unknown>(userId: string, path: string) => send<T>(userId, 'GET', path);

function data<T>(reply: Reply): T {
  expect(reply.status, reply.text).toBe(200);
  return (reply.body as { data: T }).data;
}

function expectError(reply: Reply, status: number, code: string): ErrorBody {
  expect(reply.status, reply.text).toBe(status);
  const body = reply.body as ErrorBody;
  expect(body).toMatchObject({ status: 'error', error: { code, message: expect.any(String) } });
  return body;
}

/** The body with its request id blanked: two answers equal byte for byte otherwise. */
const anonymised = (reply: Reply) => reply.text.replaceAll(reply.requestId ?? '<none>', '<request-id>');

const createInvite = (userId: string, accountId: string, body: Record<string, unknown>) =>
  post(userId, `/accounts/${accountId}/invites`, body);
const redeem = (userId: string, code: string) =>
  post<{ data: RedeemedInvite }>(userId, '/invites/redeem', { code });
const listInvites = (userId: string, accountId: string) => get(userId, `/accounts/${accountId}/invites`);
const members = async (userId: string, accountId: string) =>
  data<Member[]>(await get(userId, `/accounts/${accountId}/members`));

describe('invites', () => {
  let team: Seeded;
  beforeAll(async () => {
    team = await seedAccount(app, '4100');
  });

  test('create, list (status and uses, never the code), redeem, join with a name, redeem again, use up', async () => {
    const created = data<CreatedInvite>(
      await createInvite(team.users.owner, team.account.id, { role: 'chatter', maxUses: 2 }),
    );
    expect(created).toEqual({
      id: expect.any(String),
      accountId: team.account.id,
      role: 'chatter',
      code: expect.stringMatching(CODE),
      codeHint: created.code.slice(-4),
      url: `${PUBLIC_URL}/invite#${created.code}`,
      createdBy: team.users.owner,
      createdAt: app.clock.now().toISOString(),
      expiresAt: new Date(app.clock.now().getTime() + 72 * HOUR).toISOString(),
      maxUses: 2,
      uses: 0,
      revokedAt: null,
      status: 'active',
    });
    expect(parseInviteCode(created.url)).toBe(created.code);
    // Only a hash is stored: no column of any invite holds the code.
    const stored = await app.database.db.execute(sql`select i::text as row from invites i`);
    expect(JSON.stringify(stored)).not.toContain(created.code.slice(3));

    const listed = await listInvites(team.users.manager, team.account.id);
    expect(listed.text).not.toContain(created.code.slice(3));
    const { code: _code, url: _url, ...shown } = created;
    expect(data<Invite[]>(listed)).toContainEqual(shown);

    const bea = randomUUID();
    identities.set(bea, { email: 'bea@agency.example', userMetadata: { full_name: 'Bea Santos' } });
    expect(await send(bea, 'GET', `/accounts/${team.account.id}/members`).then((r) => r.status)).toBe(404);
    const joined = data<RedeemedInvite>(await redeem(bea, created.code));
    expect(joined).toEqual({
      account: {
        id: team.account.id,
        onlyFansUserId: team.account.onlyFansUserId,
        username: team.account.username,
        role: 'chatter',
        createdAt: team.account.createdAt.toISOString(),
      },
      joined: true,
    });
    expect(await members(team.users.viewer, team.account.id)).toContainEqual(
      expect.objectContaining({ userId: bea, role: 'chatter', displayName: 'Bea Santos' }),
    );
    // The new member writes at once.
    expect((await post(bea, '/update-note', { fanId: '4100', content: 'Bea was here' })).status).toBe(200);

    // Again: already a member, nothing changes and no use is spent.
    const again = data<RedeemedInvite>(await redeem(bea, created.code));
    expect(again).toEqual({ ...joined, joined: false });
    const afterAgain = data<Invite[]>(await listInvites(team.users.owner, team.account.id)).find(
      (i) => i.id === created.id,
    )!;
    expect(afterAgain).toMatchObject({ uses: 1, status: 'active' });

    // A pasted link, in lower case, grouped: the same code.
    const carl = randomUUID();
    identities.set(carl, { email: 'carl.m@agency.example' });
    expect(parseInviteCode(`Join us: ${created.url.toLowerCase()} (expires in 3 days)`)).toBe(created.code);
    const grouped = `fn ${created.code
      .slice(3)
      .match(/.{1,4}/g)!
      .join('-')
      .toLowerCase()}`;
    expect(parseInviteCode(grouped)).toBe(created.code);
    expect(data<RedeemedInvite>(await redeem(carl, grouped)).joined).toBe(true);

    const usedUp = data<Invite[]>(await listInvites(team.users.owner, team.account.id)).find(
      (i) => i.id === created.id,
    )!;
    expect(usedUp).toMatchObject({ uses: 2, status: 'used_up' });
    const dana = randomUUID();
    const before = await rowCounts(app);
    expectError(await redeem(dana, created.code), 404, 'resource_not_found');
    expect(await rowCounts(app)).toEqual(before);
    expect(await members(team.users.owner, team.account.id)).toContainEqual(
      expect.objectContaining({ userId: carl, displayName: 'carl.m' }),
    );
  });

  test('unknown, expired, revoked and used-up codes all get the same 404, and nobody joins', async () => {
    const owner = team.users.owner;
    const code = async (body: Record<string, unknown>) =>
      data<CreatedInvite>(await createInvite(owner, team.account.id, { role: 'viewer', ...body }));
    const expiring = await code({ expiresInHours: 1 });
    const revoked = await code({});
    const usedUp = await code({ maxUses: 1 });
    data<RedeemedInvite>(await redeem(randomUUID(), usedUp.code));
    const revokedReply = data<Invite>(
      await send(owner, 'DELETE', `/accounts/${team.account.id}/invites/${revoked.id}`),
    );
    expect(revokedReply).toMatchObject({
      id: revoked.id,
      status: 'revoked',
      revokedAt: app.clock.now().toISOString(),
    });
    // Revoking again changes nothing.
    expect(
      data<Invite>(await send(owner, 'DELETE', `/accounts/${team.account.id}/invites/${revoked.id}`)),
    ).toEqual(revokedReply);
    // Just before its expiry the invite works; at its expiry, no more.
    app.clock.advance(HOUR - 1);
    expect(
      data<Invite[]>(await listInvites(owner, team.account.id)).find((i) => i.id === expiring.id)?.status,
    ).toBe('active');
    app.clock.advance(1);
    expect(
      data<Invite[]>(await listInvites(owner, team.account.id)).find((i) => i.id === expiring.id)?.status,
    ).toBe('expired');

    const unknown = `FN-${'0'.repeat(26)}`;
    const stranger = randomUUID();
    const before = await rowCounts(app);
    const replies = [];
    for (const attempt of [unknown, expiring.code, revoked.code, usedUp.code]) {
      replies.push(await redeem(stranger, attempt));
    }
    const [first, ...rest] = replies.map((reply) => {
      const body = expectError(reply, 404, 'resource_not_found');
      expect(body.error.message).toBe(
        'This invite code does not work: it may be mistyped, expired, revoked or used up. Ask for a new one.',
      );
      return anonymised(reply);
    });
    for (const other of rest) expect(other).toBe(first);
    expect(await rowCounts(app)).toEqual(before);
    expectError(await get(stranger, `/accounts/${team.account.id}/members`), 404, 'resource_not_found');
  });

  test('owners and managers manage invites; only an owner invites an owner or revokes such an invite', async () => {
    const { owner, manager, chatter, viewer } = team.users;
    const path = `/accounts/${team.account.id}/invites`;
    const managerInvite = data<CreatedInvite>(
      await createInvite(manager, team.account.id, { role: 'manager' }),
    );
    expect(managerInvite.createdBy).toBe(manager);
    const ownerInvite = data<CreatedInvite>(await createInvite(owner, team.account.id, { role: 'owner' }));
    const before = await rowCounts(app);
    const refused = [
      await createInvite(manager, team.account.id, { role: 'owner' }),
      await send(manager, 'DELETE', `${path}/${ownerInvite.id}`),
    ];
    for (const role of [chatter, viewer]) {
      refused.push(
        await createInvite(role, team.account.id, { role: 'viewer' }),
        await listInvites(role, team.account.id),
        await send(role, 'DELETE', `${path}/${managerInvite.id}`),
      );
    }
    for (const reply of refused) expectError(reply, 403, 'permission_denied');
    expect(expectError(refused[0]!, 403, 'permission_denied').error.message).toBe(
      'Only an owner can invite an owner, or revoke such an invite.',
    );
    expect(await rowCounts(app)).toEqual(before);
    // A manager revokes a manager invite; an owner revokes an owner invite.
    expect(data<Invite>(await send(manager, 'DELETE', `${path}/${managerInvite.id}`)).status).toBe('revoked');
    expect(data<Invite>(await send(owner, 'DELETE', `${path}/${ownerInvite.id}`)).status).toBe('revoked');
  });

  test("another account's invites answer exactly like unknown ones (404), and change nothing", async () => {
    const theirs = await seedAccount(app, '4101');
    const theirInvite = data<CreatedInvite>(
      await createInvite(theirs.users.owner, theirs.account.id, { role: 'chatter' }),
    );
    const me = team.users.owner;
    const before = await rowCounts(app);
    const pairs = [
      [
        createInvite(me, theirs.account.id, { role: 'chatter' }),
        createInvite(me, randomUUID(), { role: 'chatter' }),
      ],
      [listInvites(me, theirs.account.id), listInvites(me, randomUUID())],
      [
        send(me, 'DELETE', `/accounts/${theirs.account.id}/invites/${theirInvite.id}`),
        send(me, 'DELETE', `/accounts/${randomUUID()}/invites/${theirInvite.id}`),
      ],
      // Their invite's id under my account: not found, as an unknown id.
      [
        send(me, 'DELETE', `/accounts/${team.account.id}/invites/${theirInvite.id}`),
        send(me, 'DELETE', `/accounts/${team.account.id}/invites/${randomUUID()}`),
      ],
    ] as const;
    for (const [foreign, unknown] of pairs) {
      const [a, b] = [await foreign, await unknown];
      expectError(a, 404, 'resource_not_found');
      expect(anonymised(a)).toBe(anonymised(b));
    }
    expect(await rowCounts(app)).toEqual(before);
    expect(data<Invite[]>(await listInvites(theirs.users.owner, theirs.account.id))[0]).toMatchObject({
      id: theirInvite.id,
      status: 'active',
    });
  });

  test('two people redeeming the last use of an invite at once: exactly one joins', async () => {
    const last = data<CreatedInvite>(
      await createInvite(team.users.owner, team.account.id, { role: 'viewer' }),
    );
    const racers = Array.from({ length: 8 }, () => randomUUID());
    const replies = await Promise.all(racers.map((user) => redeem(user, last.code)));
    expect(replies.filter((reply) => reply.status === 200)).toHaveLength(1);
    for (const reply of replies.filter((r) => r.status !== 200))
      expectError(reply, 404, 'resource_not_found');
    const joined = await app.database.db
      .select({ userId: memberships.userId })
      .from(memberships)
      .where(eq(memberships.accountId, team.account.id));
    expect(racers.filter((user) => joined.some((row) => row.userId === user))).toHaveLength(1);
    const [row] = await app.database.db.select().from(invites).where(eq(invites.id, last.id));
    expect(row!.uses).toBe(1);
  });

  test('the same person redeeming twice at once joins once and spends one use', async () => {
    const twice = data<CreatedInvite>(
      await createInvite(team.users.owner, team.account.id, { role: 'chatter', maxUses: 5 }),
    );
    const user = randomUUID();
    const replies = await Promise.all([redeem(user, twice.code), redeem(user, twice.code)]);
    expect(replies.map((reply) => data<RedeemedInvite>(reply).joined).sort()).toEqual([false, true]);
    const [row] = await app.database.db.select().from(invites).where(eq(invites.id, twice.id));
    expect(row!.uses).toBe(1);
  });
});

describe('the members endpoint changes roles only', () => {
  test('an outsider is 404 "invite them"; a member changes role; owner rules hold', async () => {
    const team = await seedAccount(app, '4200');
    const outsider = randomUUID();
    const before = await rowCounts(app);
    const body = expectError(
      await post(team.users.owner, `/accounts/${team.account.id}/members`, {
        userId: outsider,
        role: 'chatter',
      }),
      404,
      'resource_not_found',
    );
    expect(body.error.message).toContain('invite them');
    expect(await rowCounts(app)).toEqual(before);
    expect(data<Account[]>(await get(outsider, '/accounts'))).toEqual([]);

    const changed = data<Member>(
      await post(team.users.manager, `/accounts/${team.account.id}/members`, {
        userId: team.users.viewer,
        role: 'chatter',
      }),
    );
    expect(changed).toMatchObject({
      userId: team.users.viewer,
      role: 'chatter',
      displayName: expect.any(String),
    });
    expectError(
      await post(team.users.manager, `/accounts/${team.account.id}/members`, {
        userId: team.users.viewer,
        role: 'owner',
      }),
      403,
      'permission_denied',
    );
  });
});

describe('one creator, several agencies', () => {
  test('two agencies register the same creator: two accounts, and neither learns of the other', async () => {
    const [agencyA, agencyB] = [randomUUID(), randomUUID()];
    const a = data<Account>(await post(agencyA, '/accounts', { onlyFansUserId: '777000', username: 'star' }));
    const b = data<Account>(await post(agencyB, '/accounts', { onlyFansUserId: '777000', username: 'star' }));
    expect(b.id).not.toBe(a.id);
    expect([a.role, b.role]).toEqual(['owner', 'owner']);
    // B's answer is what a first registration looks like: nothing in it speaks of A.
    expect(JSON.stringify(b)).not.toContain(a.id);
    expect(data<Account[]>(await get(agencyA, '/accounts'))).toEqual([a]);
    expect(data<Account[]>(await get(agencyB, '/accounts'))).toEqual([b]);
    expect((await members(agencyB, b.id)).map((m) => m.userId)).toEqual([agencyB]);
    expectError(await get(agencyB, `/accounts/${a.id}/members`), 404, 'resource_not_found');
    // Registering again returns one's own account, unchanged.
    expect(
      data<Account>(await post(agencyA, '/accounts', { onlyFansUserId: '777000', username: 'renamed' })),
    ).toEqual(a);

    // Each agency's fan 42 is its own; a `{fanId}`-only call finds the caller's one.
    for (const [user, account] of [
      [agencyA, a],
      [agencyB, b],
    ] as const) {
      data(await post(user, '/fans', { accountId: account.id, fanId: '42' }));
      data(await post(user, '/update-note', { fanId: '42', content: `note of ${account.id}` }));
    }
    app.clock.advance(60_000);
    const synced = data<{ notes: { accountId: string; content: string }[] }>(
      await post(agencyB, '/sync-notes', { fanId: '42' }),
    );
    expect(synced.notes.map((n) => n.content)).toEqual([`note of ${b.id}`]);

    // A chatter working for both agencies must name the account.
    const both = randomUUID();
    for (const [owner, account] of [
      [agencyA, a],
      [agencyB, b],
    ] as const) {
      const invite = data<CreatedInvite>(await createInvite(owner, account.id, { role: 'chatter' }));
      data(await redeem(both, invite.code));
    }
    const ambiguous = expectError(await post(both, '/sync-notes', { fanId: '42' }), 400, 'validation_error');
    expect(ambiguous.error.message).toContain('accountId');
    // Registering the creator as a member of both returns one of them, and creates nothing.
    const before = await rowCounts(app);
    const mine = data<Account>(await post(both, '/accounts', { onlyFansUserId: '777000', username: 'x' }));
    expect([a.id, b.id]).toContain(mine.id);
    expect(mine.role).toBe('chatter');
    expect(await rowCounts(app)).toEqual(before);
  });

  test('a user who registered a creator and left that account can start a new team for it', async () => {
    const [founder, heir] = [randomUUID(), randomUUID()];
    const account = data<Account>(
      await post(founder, '/accounts', { onlyFansUserId: '777002', username: 'old' }),
    );
    const invite = data<CreatedInvite>(await createInvite(founder, account.id, { role: 'owner' }));
    data(await redeem(heir, invite.code));
    data(await send(founder, 'DELETE', `/accounts/${account.id}/members/${founder}`));
    const fresh = data<Account>(
      await post(founder, '/accounts', { onlyFansUserId: '777002', username: 'again' }),
    );
    expect(fresh.id).not.toBe(account.id);
    expect(fresh.role).toBe('owner');
    // The old team keeps its account, its heir, and nothing of the new one shows to either side.
    expect(data<Account[]>(await get(founder, '/accounts')).map((mine) => mine.id)).toEqual([fresh.id]);
    expect(data<Account[]>(await get(heir, '/accounts')).map((theirs) => theirs.id)).toEqual([account.id]);
  });

  test('concurrent registrations of one creator by one user make one account', async () => {
    const user = randomUUID();
    const replies = await Promise.all(
      Array.from({ length: 6 }, () => post(user, '/accounts', { onlyFansUserId: '777001', username: 'dup' })),
    );
    const ids = new Set(replies.map((reply) => data<Account>(reply).id));
    expect(ids.size).toBe(1);
    expect(data<Account[]>(await get(user, '/accounts'))).toHaveLength(1);
    expect(await members(user, [...ids][0]!)).toHaveLength(1);
  });
});

describe('display names', () => {
  test("from the token's full_name, else name, else the email's local part; refreshed at sign-in; your own wins", async () => {
    const team = await seedAccount(app, '4300');
    const [ana, bo, cy] = [randomUUID(), randomUUID(), randomUUID()];
    identities.set(ana, { email: 'ana@x.example', userMetadata: { full_name: 'Ana Lima', name: 'ana' } });
    identities.set(bo, { email: 'bo@x.example', userMetadata: { name: 'Bo' } });
    identities.set(cy, { email: 'cy.rose@x.example' });
    for (const user of [ana, bo, cy]) {
      const invite = data<CreatedInvite>(
        await createInvite(team.users.owner, team.account.id, { role: 'chatter' }),
      );
      data(await redeem(user, invite.code));
    }
    const nameOf = async (userId: string) =>
      (await members(team.users.chatter, team.account.id)).find((m) => m.userId === userId)?.displayName;
    expect([await nameOf(ana), await nameOf(bo), await nameOf(cy)]).toEqual(['Ana Lima', 'Bo', 'cy.rose']);
    // Seeded members who never called the API have no profile yet.
    expect(await nameOf(team.users.viewer)).toBe(`Member ${team.users.viewer.slice(0, 8)}`);

    // A new name in the token is taken when the member next starts a session (accounts.list).
    identities.set(bo, { email: 'bo@x.example', userMetadata: { name: 'Bo Kim' } });
    expect(await nameOf(bo)).toBe('Bo');
    data(await get(bo, '/accounts'));
    expect(await nameOf(bo)).toBe('Bo Kim');

    // A member's own name is kept whatever their token says later.
    app.clock.advance(1000);
    const set = data<Profile>(await post(ana, '/profile', { displayName: '  Ana (nights) ' }));
    expect(set).toEqual({
      userId: ana,
      displayName: 'Ana (nights)',
      updatedAt: app.clock.now().toISOString(),
    });
    identities.set(ana, { email: 'ana@x.example', userMetadata: { full_name: 'Ana Maria Lima' } });
    expect(data<Profile>(await get(ana, '/profile'))).toEqual(set);
    data(await get(ana, '/accounts'));
    expect(await nameOf(ana)).toBe('Ana (nights)');

    // profile.get refreshes too, and writes nothing when nothing changed.
    const dee = randomUUID();
    identities.set(dee, { email: 'dee@x.example' });
    expect(data<Profile>(await get(dee, '/profile')).displayName).toBe('dee');
    const before = await app.database.db.execute(sql`select p::text as row from profiles p`);
    app.clock.advance(1000);
    data(await get(dee, '/profile'));
    expect(await app.database.db.execute(sql`select p::text as row from profiles p`)).toEqual(before);
  });
});

describe('bad input', () => {
  test('bad codes, expiries, use limits, roles and names get the 400 envelope and change nothing', async () => {
    const team = await seedAccount(app, '4400');
    const owner = team.users.owner;
    const before = await rowCounts(app);
    const replies = [
      ...['', 'hello', 'FN-123', `FN-${'I'.repeat(26)}`, `FN-${'U'.repeat(26)}`, 'x'.repeat(3000)].map(
        (code) => redeem(owner, code),
      ),
      post(owner, '/invites/redeem', {}),
      post(owner, '/invites/redeem', { code: 42 }),
      post(owner, '/invites/redeem', { code: `FN-${'0'.repeat(26)}`, accountId: team.account.id }),
      ...[0, 169, 1.5, '24'].map((expiresInHours) =>
        createInvite(owner, team.account.id, { role: 'chatter', expiresInHours }),
      ),
      ...[0, 101, -1].map((maxUses) => createInvite(owner, team.account.id, { role: 'chatter', maxUses })),
      createInvite(owner, team.account.id, { role: 'admin' }),
      createInvite(owner, team.account.id, {}),
      createInvite(owner, team.account.id, { role: 'chatter', code: 'FN-MINE' }),
      send(owner, 'DELETE', `/accounts/${team.account.id}/invites/not-a-uuid`),
      post(owner, '/profile', { displayName: '' }),
      post(owner, '/profile', { displayName: '\u200b' }),
      post(owner, '/profile', { displayName: 'x'.repeat(81) }),
      post(owner, '/profile', { displayName: 'Ana', userId: team.users.chatter }),
    ];
    for (const reply of await Promise.all(replies)) {
      const body = expectError(reply, 400, 'validation_error');
      expect(reply.text).not.toMatch(/stack|node_modules/);
      expect(body.error.message.length).toBeGreaterThan(0);
    }
    expect(await rowCounts(app)).toEqual(before);
  });
});

describe('documents and pages', () => {
  test('the OpenAPI document lists the invite and profile paths', async () => {
    const document = (await (await fetch(`${base}/api/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { summary?: string }>>;
    };
    expect(Object.keys(document.paths['/v2/accounts/{accountId}/invites']!).sort()).toEqual(['get', 'post']);
    expect(Object.keys(document.paths['/v2/accounts/{accountId}/invites/{inviteId}']!)).toEqual(['delete']);
    expect(Object.keys(document.paths['/v2/invites/redeem']!)).toEqual(['post']);
    expect(Object.keys(document.paths['/v2/profile']!).sort()).toEqual(['get', 'post']);
    expect(document.paths['/v2/accounts/{accountId}/members']!.post!.summary).toBe("Change a member's role");
  });

  test('GET /invite is a self-contained page that reads the code from the fragment only', async () => {
    const response = await fetch(`${base}/invite?code=<script>alert(1)</script>`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await response.text();
    expect(html).not.toContain('alert(1)');
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).toContain('Join a team');
    const script = await fetch(`${base}/invite.js`);
    expect(script.status).toBe(200);
    expect(await script.text()).toContain('location.hash');
  });
});
