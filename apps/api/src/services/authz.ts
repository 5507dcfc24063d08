import type { Role } from '@fannotes/contract';
import { fans, memberships, type Database, type Transaction } from '@fannotes/db';
import { and, eq, sql, type SQL } from 'drizzle-orm';
import { ApiError } from '../errors.ts';
import { decodeRow, executeRows, textArray, type Bound } from './raw-sql.ts';

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

const rolesWith = (right: Right) =>
  (Object.keys(roleRights) as Role[]).filter((role) =>
    (roleRights[role] as readonly Right[]).includes(right),
  );

/** The condition, in SQL, that `role` (a role column or expression) has `right`, from roleRights. */
export function roleHas(role: SQL, right: Right): SQL {
  return sql`${role} = any(${textArray(rolesWith(right))}::text[])`;
}

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
 * The fans a request names (`fanId`, and `accountId` when given) among the caller's accounts only,
 * with the caller's role on each one's account: the one statement of fan resolution, run on its own
 * (resolveFan) or as the first CTE of a push (sync-statements.ts lockForPush). Columns: the fan row's
 * (`f.*`), `member.role`, and `snapshot.xmin`, the version of the fan row this statement's snapshot
 * saw (lockForPush compares it with the row it then locks). At most 21 rows: one is the answer, two
 * or more an ambiguity (pickResolvedFan), and the error lists at most that many accounts.
 * Read from the database on every request: a removed membership takes effect at once.
 */
export function callerFans(
  userId: Bound<string>,
  target: { fanId: Bound<string>; accountId?: Bound<string> | undefined },
): SQL {
  // Kept short: readOrPlan's read of the notes must start within its statement's first kilobyte.
  return sql`select f.*, m.role as "member.role", f.xmin::text as "snapshot.xmin" from ${fans} f join ${memberships} m on m.account_id = f.account_id and m.user_id = ${userId} where f.fan_id = ${target.fanId}${target.accountId ? sql` and f.account_id = ${target.accountId}` : sql``} limit 21`;
}

/** A row of callerFans: the fan and the caller's role on its account. */
export function decodeCallerFan(raw: Record<string, unknown>): { fan: FanRow; role: Role } {
  return { fan: decodeRow(fans, raw)!, role: raw['member.role'] as Role };
}

/** The fan named by a request, among the caller's accounts only, with the caller's role on its account. */
export async function resolveFan(
  db: Database,
  userId: string,
  target: { fanId: string; accountId?: string | undefined },
): Promise<{ fan: FanRow; role: Role }> {
  const rows = await executeRows(db, callerFans(userId, target));
  return pickResolvedFan(rows.map(decodeCallerFan));
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
export async function roleOn(db: Database | Transaction, userId: string, accountId: string): Promise<Role> {
  const [row] = await db
    .select({ role: memberships.role })
    .from(memberships)
    .where(and(eq(memberships.accountId, accountId), eq(memberships.userId, userId)));
  if (!row) throw accountNotFound();
  return row.role;
}

/** The caller's role on the account, which must carry the right to manage it: 404 for a non-member, 403 without the right. */
export async function managerRoleOn(
  db: Database | Transaction,
  userId: string,
  accountId: string,
): Promise<Role> {
  const role = await roleOn(db, userId, accountId);
  requireRight(role, 'manage');
  return role;
}
