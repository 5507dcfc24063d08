import type { Role } from '@fannotes/contract';
import { fans, memberships, type Database } from '@fannotes/db';
import { and, eq, sql, type SQL } from 'drizzle-orm';
import { ApiError } from '../errors.ts';

/**
 * What each role may do. Read notes: every role. Write notes and register fans: owner, manager,
 * chatter. Manage members: owner, manager (owners are managed by owners only: see accounts.ts).
 */
export const roleRights = {
  owner: ['read', 'write', 'manage'],
  manager: ['read', 'write', 'manage'],
  chatter: ['read', 'write'],
  viewer: ['read'],
} as const satisfies Record<Role, readonly string[]>;

export type Right = (typeof roleRights)['owner'][number];

export function requireRight(role: Role, right: Right): void {
  if (!(roleRights[role] as readonly Right[]).includes(right)) {
    throw new ApiError('permission_denied', `The ${role} role cannot ${describeRight[right]}.`);
  }
}

const describeRight: Record<Right, string> = {
  read: 'read notes',
  write: 'write notes or register fans',
  manage: "manage this account's members",
};

export type FanRow = typeof fans.$inferSelect;

// One message for "no such fan" and "a fan of someone else's account", so ids cannot be probed.
export const fanNotFound = () => new ApiError('resource_not_found', 'Fan not found.');
export const accountNotFound = () => new ApiError('resource_not_found', 'Account not found.');

/**
 * The fan named by a request, among the caller's accounts only, with the caller's role on its account.
 * Read from the database on every request: a removed membership takes effect at once.
 */
export async function resolveFan(
  db: Database,
  userId: string,
  target: { fanId: string; accountId?: string | undefined },
): Promise<{ fan: FanRow; role: Role }> {
  const queries = resolveQueries(db);
  const rows = target.accountId
    ? await queries.inAccount.execute({ userId, fanId: target.fanId, accountId: target.accountId })
    : await queries.anyAccount.execute({ userId, fanId: target.fanId });
  return pickResolvedFan(rows);
}

/**
 * resolveFan's two queries, built once per database (drizzle builds SQL text on every call otherwise,
 * a measurable share of a throttled read's CPU) and prepared by name.
 */
const resolveCache = new WeakMap<Database, ReturnType<typeof buildResolveQueries>>();
function resolveQueries(db: Database) {
  let queries = resolveCache.get(db);
  if (!queries) {
    queries = buildResolveQueries(db);
    resolveCache.set(db, queries);
  }
  return queries;
}

function buildResolveQueries(db: Database) {
  const base = (where: SQL | undefined) =>
    db
      .select({ fan: fans, role: memberships.role })
      .from(fans)
      .innerJoin(
        memberships,
        and(eq(memberships.accountId, fans.accountId), eq(memberships.userId, sql.placeholder('userId'))),
      )
      .where(where)
      .limit(21);
  return {
    anyAccount: base(eq(fans.fanId, sql.placeholder('fanId'))).prepare('resolve_fan'),
    inAccount: base(
      and(eq(fans.fanId, sql.placeholder('fanId')), eq(fans.accountId, sql.placeholder('accountId'))),
    ).prepare('resolve_fan_in_account'),
  };
}

/** The one fan a resolve query found among the caller's accounts (not found, or ambiguous: an error). */
export function pickResolvedFan(rows: { fan: FanRow; role: Role }[]): { fan: FanRow; role: Role } {
  const [first, second] = rows;
  if (!first) throw fanNotFound();
  if (second) {
    throw new ApiError(
      'validation_error',
      'This fan is in several of your accounts: name one with accountId.',
      {
        details: { accountIds: rows.map((row) => row.fan.accountId) },
      },
    );
  }
  return first;
}

/** The caller's role on an account; 404 when they are not a member (existence is not revealed). */
export async function roleOn(db: Database, userId: string, accountId: string): Promise<Role> {
  const [row] = await db
    .select({ role: memberships.role })
    .from(memberships)
    .where(and(eq(memberships.accountId, accountId), eq(memberships.userId, userId)));
  if (!row) throw accountNotFound();
  return row.role;
}
