import { randomUUID } from 'node:crypto';
import type { Role } from '@fannotes/contract';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { validArbitrary, type Hints } from './lib/arbitraries.ts';
import { fcParams } from './lib/config.ts';
import {
  accountSnapshot,
  createHardeningDatabase,
  one,
  rows,
  seedAccount,
  seedInvite,
  seedNote,
  type HardeningDatabase,
  type SeededAccount,
} from './lib/database.ts';
import { callEndpoint, endpoints, type Endpoint } from './lib/endpoints.ts';
import { recordFigures, Tally } from './lib/figures.ts';
import { outcomeOf, statuses, type Outcome, type Surface } from './lib/http.ts';
import { alive, errorLogs, LIMITS_OFF, startApi, type ApiProcess } from './lib/processes.ts';
import { claims, signHs, tokenFor } from './lib/tokens.ts';

// Authorization of a real process, both surfaces: every endpoint against a role x operation matrix
// (each cell on a fresh account, whose rows must be byte-identical after a refusal), then generated
// requests by members of one account that name another account's fans, notes, members and clients,
// or another fan's notes: always refused or harmless, and the other rows byte-identical. The database
// connection bypasses any row-level security, so these checks in code are the whole boundary.
// test/authorization.test.ts pins the messages in process.

let db: HardeningDatabase;
/** The role matrix's process, at production defaults: each cell is one request of a fresh user. */
let api: ApiProcess;
/** The generated cross-tenant probes': thousands of requests of a few members (LIMITS_OFF). */
let campaign: ApiProcess;
const cells = new Tally();
const probes = new Tally();

beforeAll(async () => {
  db = await createHardeningDatabase();
  const throttle = { SYNC_MIN_INTERVAL_MS: '0', SYNC_FORCE_FLOOR_MS: '0' };
  [api, campaign] = await Promise.all([
    startApi('authorization', db.url, throttle),
    startApi('authorization-campaign', db.url, { ...throttle, ...LIMITS_OFF }),
  ]);
}, 90_000);

afterAll(async () => {
  await Promise.all([api?.stop(), campaign?.stop()]);
  await db?.close();
  recordFigures('authorization', {
    matrix: { cells: cells.total, outcomes: cells.counts },
    crossTenantProbes: { requests: probes.total, outcomes: probes.counts, otherRowsChanged: 0 },
    requests: statuses.total,
    byStatus: statuses.counts,
    serverErrors: statuses.serverErrors,
  });
}, 60_000);

const procedure = (name: string): Endpoint => endpoints.find((endpoint) => endpoint.procedure === name)!;

// ---------------------------------------------------------------------------------------------------
// The role x operation matrix

type Actor = Role | 'stranger' | 'anonymous member';
const actors: Actor[] = ['owner', 'manager', 'chatter', 'viewer', 'stranger', 'anonymous member'];

type Expected = 'success' | 'permission_denied' | 'resource_not_found';

interface Cell {
  account: SeededAccount;
  noteId: string;
  /** An extra chatter and a second owner, to be removed. */
  target: string;
  owner2: string;
  actorId: string;
  /** Live invites of the account, by role. */
  invites: { chatter: string; owner: string };
}

interface Operation {
  name: string;
  procedure: string;
  input: (cell: Cell) => unknown;
  /** What each actor gets. */
  expect: Record<Actor, Expected>;
  /** Writes something when it succeeds (a refused one must leave the account byte-identical). */
  writes: boolean;
}

const members = (
  allowed: Role[],
  deniedMember: Expected = 'permission_denied',
  stranger: Expected = 'resource_not_found',
) =>
  ({
    owner: allowed.includes('owner') ? 'success' : deniedMember,
    manager: allowed.includes('manager') ? 'success' : deniedMember,
    chatter: allowed.includes('chatter') ? 'success' : deniedMember,
    viewer: allowed.includes('viewer') ? 'success' : deniedMember,
    stranger,
    'anonymous member': 'permission_denied',
  }) satisfies Record<Actor, Expected>;

const everyone: Role[] = ['owner', 'manager', 'chatter', 'viewer'];
const writers: Role[] = ['owner', 'manager', 'chatter'];
const managers: Role[] = ['owner', 'manager'];

const mutation = (content: string, noteId = `note_${randomUUID()}`) => ({
  clientId: randomUUID(),
  mutations: [{ id: 1, op: 'upsert', noteId, baseVersion: 0, note: { content } }],
});

const operations: Operation[] = [
  {
    name: 'read a fan’s notes',
    procedure: 'notes.sync',
    input: () => ({ fanId: '12345' }),
    expect: members(everyone),
    writes: false,
  },
  {
    name: 'sync a new note',
    procedure: 'notes.sync',
    input: () => ({ fanId: '12345', ...mutation('offline note') }),
    expect: members(writers),
    writes: true,
  },
  {
    name: 'sync an edit of a note',
    procedure: 'notes.sync',
    input: ({ noteId }) => ({ fanId: '12345', ...mutation('edited offline', noteId) }),
    expect: members(writers),
    writes: true,
  },
  {
    name: 'sync an OnlyFans snapshot',
    procedure: 'notes.sync',
    input: () => ({ fanId: '12345', onlyFansNotes: [{ onlyFansNoteId: '12345', content: 'from OnlyFans' }] }),
    expect: members(writers),
    writes: true,
  },
  {
    name: 'create a note',
    procedure: 'notes.update',
    input: () => ({ fanId: '12345', content: 'new note' }),
    expect: members(writers),
    writes: true,
  },
  {
    name: 'edit a note',
    procedure: 'notes.update',
    input: ({ noteId }) => ({ fanId: '12345', noteId, content: 'edited', isPinned: true }),
    expect: members(writers),
    writes: true,
  },
  {
    name: 'import an OnlyFans note',
    procedure: 'notes.updateFromOnlyFans',
    input: () => ({ fanId: '12345', onlyFansNoteId: 'of-1', content: 'imported' }),
    expect: members(writers),
    writes: true,
  },
  {
    name: 'delete a note',
    procedure: 'notes.delete',
    input: ({ noteId }) => ({ fanId: '12345', noteId }),
    expect: members(writers),
    writes: true,
  },
  {
    name: 'register a fan',
    procedure: 'fans.upsert',
    input: ({ account }) => ({ accountId: account.accountId, fanId: '777', name: 'New fan' }),
    expect: members(writers),
    writes: true,
  },
  {
    name: 'rename a fan',
    procedure: 'fans.upsert',
    input: ({ account }) => ({ accountId: account.accountId, fanId: '12345', name: 'Renamed' }),
    expect: members(writers),
    writes: true,
  },
  {
    name: 'list own accounts',
    procedure: 'accounts.list',
    input: () => ({}),
    expect: members(everyone, 'success', 'success'),
    writes: false,
  },
  {
    name: 'list members',
    procedure: 'accounts.members',
    input: ({ account }) => ({ accountId: account.accountId }),
    expect: members(everyone),
    writes: false,
  },
  {
    name: 'change a chatter to viewer',
    procedure: 'accounts.addMember',
    input: ({ account, target }) => ({ accountId: account.accountId, userId: target, role: 'viewer' }),
    expect: members(managers),
    writes: true,
  },
  {
    name: 'make a chatter an owner',
    procedure: 'accounts.addMember',
    input: ({ account, target }) => ({ accountId: account.accountId, userId: target, role: 'owner' }),
    expect: members(['owner']),
    writes: true,
  },
  {
    name: 'add a user who is not a member (nobody joins without an invite)',
    procedure: 'accounts.addMember',
    input: ({ account }) => ({ accountId: account.accountId, userId: randomUUID(), role: 'chatter' }),
    expect: { ...members(managers), owner: 'resource_not_found', manager: 'resource_not_found' },
    writes: false,
  },
  {
    name: 'invite a chatter',
    procedure: 'accounts.createInvite',
    input: ({ account }) => ({ accountId: account.accountId, role: 'chatter', maxUses: 3 }),
    expect: members(managers),
    writes: true,
  },
  {
    name: 'invite an owner',
    procedure: 'accounts.createInvite',
    input: ({ account }) => ({ accountId: account.accountId, role: 'owner' }),
    expect: members(['owner']),
    writes: true,
  },
  {
    name: 'list invites',
    procedure: 'accounts.invites',
    input: ({ account }) => ({ accountId: account.accountId }),
    expect: members(managers),
    writes: false,
  },
  {
    name: 'revoke a chatter invite',
    procedure: 'accounts.revokeInvite',
    input: ({ account, invites }) => ({ accountId: account.accountId, inviteId: invites.chatter }),
    expect: members(managers),
    writes: true,
  },
  {
    name: 'revoke an owner invite',
    procedure: 'accounts.revokeInvite',
    input: ({ account, invites }) => ({ accountId: account.accountId, inviteId: invites.owner }),
    expect: members(['owner']),
    writes: true,
  },
  {
    name: 'promote oneself to owner',
    procedure: 'accounts.addMember',
    input: ({ account, actorId }) => ({ accountId: account.accountId, userId: actorId, role: 'owner' }),
    expect: { ...members(['owner']), manager: 'permission_denied' },
    // An owner is one already: the role does not change, and nothing is written.
    writes: false,
  },
  {
    name: 'remove a chatter',
    procedure: 'accounts.removeMember',
    input: ({ account, target }) => ({ accountId: account.accountId, userId: target }),
    expect: members(managers),
    writes: true,
  },
  {
    name: 'remove an owner',
    procedure: 'accounts.removeMember',
    input: ({ account, owner2 }) => ({ accountId: account.accountId, userId: owner2 }),
    expect: members(['owner']),
    writes: true,
  },
  {
    name: 'leave the account',
    procedure: 'accounts.removeMember',
    input: ({ account, actorId }) => ({ accountId: account.accountId, userId: actorId }),
    expect: members(everyone),
    writes: true,
  },
  {
    // A stranger gets an account of their own (another agency of the same creator): this one stays as it was.
    name: 'register the account again',
    procedure: 'accounts.register',
    input: ({ account }) => ({ onlyFansUserId: account.onlyFansUserId, username: 'taken over?' }),
    expect: members(everyone, 'success', 'success'),
    writes: false,
  },
];

async function newCell(actor: Actor): Promise<Cell> {
  const account = await seedAccount(db.admin, {
    fanIds: ['12345'],
    extra: { target: 'chatter', owner2: 'owner' },
  });
  const noteId = await seedNote(db.admin, account, '12345', { content: 'Likes cats.' });
  const actorId =
    actor === 'stranger'
      ? randomUUID()
      : actor === 'anonymous member'
        ? account.users.owner
        : account.users[actor];
  const invites = {
    chatter: await seedInvite(db.admin, account, 'chatter'),
    owner: await seedInvite(db.admin, account, 'owner'),
  };
  return { account, noteId, target: account.users.target!, owner2: account.users.owner2!, actorId, invites };
}

async function tokenOf(actor: Actor, userId: string): Promise<string> {
  return actor === 'anonymous member' ? signHs(claims(userId, { is_anonymous: true })) : tokenFor(userId);
}

describe.each(operations)('role matrix: $name ($procedure)', (operation) => {
  test.each(actors.flatMap((actor) => (['rest', 'trpc'] as const).map((surface) => ({ actor, surface }))))(
    '$actor over $surface',
    async ({ actor, surface }: { actor: Actor; surface: Surface }) => {
      const cell = await newCell(actor);
      // A refused push moves the caller's own sync client past its mutations (so that the client never
      // wedges on them): that row is checked on its own, everything else of the account must stay.
      const snapshot = () => accountSnapshot(db.admin, cell.account.accountId, cell.actorId);
      const before = await snapshot();
      const input = operation.input(cell) as { clientId?: string; mutations?: { id: number }[] };
      const reply = await callEndpoint(api.url, procedure(operation.procedure), surface, input, {
        token: await tokenOf(actor, cell.actorId),
      });
      const outcome: Outcome = outcomeOf(reply);
      cells.add(outcome.code);
      expect(outcome.code, reply.text.slice(0, 300)).toBe(operation.expect[actor]);
      const after = await snapshot();
      if (outcome.code !== 'success') expect(after, 'a refused request changed the account').toBe(before);
      else if (operation.writes) expect(after).not.toBe(before);
      if (outcome.code !== 'success' && input.clientId !== undefined && input.mutations?.length) {
        const [client] = await rows<{ last: number }>(
          db.admin,
          sql`select last_mutation_id::int as last from sync_clients where client_id = ${input.clientId}`,
        );
        // An anonymous user is refused before anything; a member or stranger refused for the fan has
        // the refused ids recorded, for their own client only.
        expect(client?.last ?? 0).toBe(actor === 'anonymous member' ? 0 : 1);
      }
    },
  );
});

// ---------------------------------------------------------------------------------------------------
// Another tenant's ids placed in requests

describe('cross-account and cross-fan requests', () => {
  let mine: SeededAccount;
  let theirs: SeededAccount;
  /** Text only the other account's rows hold, and text only the other fan's notes hold. */
  const theirSecrets: string[] = [];
  const otherFanSecrets: string[] = [];
  let theirNotes: string[];
  let otherFanNotes: string[];
  let theirClient: string;
  let theirInvite: string;

  beforeAll(async () => {
    mine = await seedAccount(db.admin, { fanIds: ['12345', '67890'] });
    // The other account has a fan with the same OnlyFans id as one of mine, and one I do not have.
    theirs = await seedAccount(db.admin, { fanIds: ['12345', '55555'] });
    const secret = (label: string, into: string[] = theirSecrets) => {
      const text = `${label} ${randomUUID()}`;
      into.push(text);
      return text;
    };
    theirNotes = [
      await seedNote(db.admin, theirs, '12345', { content: secret('their VIP note'), isPinned: true }),
      await seedNote(db.admin, theirs, '55555', { content: secret('their payment note') }),
      await seedNote(db.admin, theirs, '12345', {
        content: secret('their OnlyFans note'),
        onlyFansNoteId: '12345',
      }),
    ];
    otherFanNotes = [
      await seedNote(db.admin, mine, '67890', { content: secret('the other fan’s note', otherFanSecrets) }),
      await seedNote(db.admin, mine, '67890', {
        content: secret('the other fan’s OnlyFans note', otherFanSecrets),
        onlyFansNoteId: '67890',
      }),
    ];
    await seedNote(db.admin, mine, '12345', { content: 'My fan’s note.' });
    theirInvite = await seedInvite(db.admin, theirs, 'chatter');
    // One of their chatters has a sync client with progress.
    theirClient = randomUUID();
    await db.admin.execute(
      sql`insert into sync_clients (client_id, user_id, last_mutation_id, created_at, updated_at)
          values (${theirClient}, ${theirs.users.chatter}, 7, now(), now())`,
    );
  });

  const otherFanSnapshot = async () =>
    (
      await one<{ snapshot: string }>(
        db.admin,
        sql`select coalesce(string_agg(t::text, E'\n' order by t::text), '') as snapshot from notes t
            where t.fan_row_id = ${mine.fans['67890']!}`,
      )
    ).snapshot;

  function expectNone(text: string, secrets: string[]): void {
    for (const secret of secrets) expect(text, 'a response revealed text it must not').not.toContain(secret);
  }

  test('generated requests naming another account’s fans, notes, members and clients change none of its rows and reveal none of its text', async () => {
    const hints: Hints = {
      fanId: fc.constantFrom('12345', '55555', '67890'),
      accountId: fc.constantFrom(theirs.accountId, mine.accountId),
      noteId: fc.constantFrom(...theirNotes, ...otherFanNotes),
      userId: fc.constantFrom(theirs.users.owner, theirs.users.chatter, theirs.users.viewer),
      clientId: fc.constantFrom(theirClient),
      onlyFansNoteId: fc.constantFrom('12345', '55555'),
      onlyFansUserId: fc.constantFrom(theirs.onlyFansUserId),
      id: fc.integer({ min: 1, max: 9 }),
      baseVersion: fc.integer({ min: 0, max: 5 }),
      inviteId: fc.constantFrom(theirInvite),
      code: fc.constantFrom('FN-0123456789ABCDEFGHJKMNPQRS'),
    };
    const before = await accountSnapshot(db.admin, theirs.accountId);
    const requests = fc.oneof(
      ...endpoints.map((endpoint) =>
        fc.record({
          name: fc.constant(endpoint.procedure),
          input: validArbitrary(endpoint.input, hints),
          surface: fc.constantFrom<Surface>('rest', 'trpc'),
          role: fc.constantFrom<Role>('owner', 'manager', 'chatter', 'viewer'),
        }),
      ),
    );
    await fc.assert(
      fc.asyncProperty(requests, async ({ name, input, surface, role }) => {
        const endpoint = procedure(name);
        const reply = await callEndpoint(campaign.url, endpoint, surface, input, {
          token: await tokenFor(mine.users[role]),
        });
        const outcome = outcomeOf(reply);
        probes.add(`${endpoint.procedure} ${outcome.code}`);
        expect(outcome.status).toBeLessThan(500);
        expectNone(reply.text, theirSecrets);
        expect(
          await accountSnapshot(db.admin, theirs.accountId),
          `${endpoint.procedure} ${JSON.stringify(input)}`,
        ).toBe(before);
      }),
      { ...fcParams, numRuns: fcParams.numRuns! * 8 },
    );
  }, 300_000);

  test('generated writes to one fan naming another fan’s notes leave that fan’s notes byte-identical', async () => {
    const before = await otherFanSnapshot();
    const noteId = fc.constantFrom(...otherFanNotes);
    const writes = fc.oneof(
      fc.record({
        procedure: fc.constant('notes.update'),
        input: fc.record(
          {
            fanId: fc.constant('12345'),
            noteId,
            content: fc.constant('moved?'),
            baseVersion: fc.integer({ min: 0, max: 3 }),
          },
          { requiredKeys: ['fanId', 'noteId', 'content'] },
        ),
      }),
      fc.record({
        procedure: fc.constant('notes.delete'),
        input: fc.record({ fanId: fc.constant('12345'), noteId }),
      }),
      fc.record({
        procedure: fc.constant('notes.updateFromOnlyFans'),
        input: fc.record({
          fanId: fc.constant('12345'),
          onlyFansNoteId: fc.constant('67890'),
          content: fc.constant('hijacked?'),
        }),
      }),
      fc.record({
        procedure: fc.constant('notes.sync'),
        input: fc
          .tuple(noteId, fc.constantFrom('upsert', 'delete'), fc.integer({ min: 0, max: 3 }))
          .map(([id, op, baseVersion]) => ({
            fanId: '12345',
            clientId: randomUUID(),
            mutations: [
              op === 'upsert'
                ? { id: 1, op, noteId: id, baseVersion, note: { content: 'hijacked?', isPinned: true } }
                : { id: 1, op, noteId: id, baseVersion },
            ],
          })),
      }),
    );
    await fc.assert(
      fc.asyncProperty(
        writes,
        fc.constantFrom<Surface>('rest', 'trpc'),
        async ({ procedure: name, input }, surface) => {
          const reply = await callEndpoint(campaign.url, procedure(name), surface, input, {
            token: await tokenFor(mine.users.owner),
          });
          const outcome = outcomeOf(reply);
          probes.add(`${name} (other fan) ${outcome.code}`);
          expect(outcome.status).toBeLessThan(500);
          expectNone(reply.text, otherFanSecrets);
          if (name === 'notes.sync') {
            const data = (
              surface === 'rest' ? (reply.json as any).data : (reply.json as any).result.data.data
            ) as { results: { status: string }[] };
            expect(data.results.map((result) => result.status)).toEqual(['rejected']);
          } else if (name !== 'notes.updateFromOnlyFans') {
            expect(outcome.code).toBe('resource_not_found');
          }
          expect(await otherFanSnapshot()).toBe(before);
        },
      ),
      { ...fcParams, numRuns: fcParams.numRuns! * 2 },
    );
  }, 120_000);

  test('another user’s sync client id is refused and its progress untouched', async () => {
    const before = await accountSnapshot(db.admin, theirs.accountId);
    for (const surface of ['rest', 'trpc'] as const) {
      const reply = await callEndpoint(
        campaign.url,
        procedure('notes.sync'),
        surface,
        { fanId: '12345', ...mutation('on their client'), clientId: theirClient },
        {
          token: await tokenFor(mine.users.owner),
        },
      );
      expect(outcomeOf(reply).code).toBe('permission_denied');
    }
    expect(await accountSnapshot(db.admin, theirs.accountId)).toBe(before);
  });

  test('the process is up and logged no error', () => {
    expect(alive(api)).toBe(true);
    expect(alive(campaign)).toBe(true);
    expect(errorLogs(api, campaign)).toEqual([]);
  });
});
