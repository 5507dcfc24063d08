import { memberships, type Database } from '@fannotes/db';
import { sql } from 'drizzle-orm';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The accounts each user is a member of, for all of them in one statement. The ids travel as one
 * array parameter (not one parameter each), so the statement text, and its prepared plan, is the same
 * whatever the number of users.
 */
export async function accountsOfUsers(
  db: Database,
  userIds: readonly string[],
): Promise<Map<string, string[]>> {
  const ids = userIds.filter((id) => UUID.test(id));
  const result = new Map<string, string[]>();
  if (ids.length === 0) return result;
  const rows = await db
    .select({ userId: memberships.userId, accountId: memberships.accountId })
    .from(memberships)
    .where(sql`${memberships.userId} = any(${`{${ids.join(',')}}`}::uuid[])`);
  for (const row of rows) {
    const accounts = result.get(row.userId);
    if (accounts) accounts.push(row.accountId);
    else result.set(row.userId, [row.accountId]);
  }
  return result;
}
