import type {
  Account,
  AddMemberInput,
  Member,
  RegisterAccountInput,
  RemovedMember,
  Role,
} from '@fannotes/contract';
import { accounts, memberships, profiles, type Database, type Transaction } from '@fannotes/db';
import { and, asc, eq, sql } from 'drizzle-orm';
import type { z } from 'zod';
import type { AuthedContext } from '../context.ts';
import { ApiError } from '../errors.ts';
import { managerRoleOn, roleOn } from './authz.ts';
import { fallbackDisplayName, refreshProfileFromToken } from './profiles.ts';
import { toAccount, toMember } from './serialize.ts';

/**
 * GET /api/v2/accounts: the caller's accounts with their role on each. What a client calls when a
 * session starts, so the caller's display name is refreshed from their token here.
 */
export async function listAccounts(ctx: AuthedContext): Promise<Account[]> {
  await refreshProfileFromToken(ctx.deps.db, ctx.user, ctx.deps.now());
  const rows = await ctx.deps.db
    .select({ account: accounts, role: memberships.role })
    .from(memberships)
    .innerJoin(accounts, eq(accounts.id, memberships.accountId))
    .where(eq(memberships.userId, ctx.user.userId))
    .orderBy(asc(accounts.username), asc(accounts.id));
  return rows.map((row) => toAccount(row.account, row.role));
}

/**
 * POST /api/v2/accounts: registers an OnlyFans creator page as a new account with the caller as its
 * owner. Several teams (agencies) may register the same creator, each its own account: nothing here
 * depends on, or reveals, another team's registration. A caller who is already a member of an account
 * for this creator gets that one back with their role (the oldest, if several), so a retried or
 * concurrent registration by one user makes one account (an advisory lock on the user and creator).
 */
export async function registerAccount(
  ctx: AuthedContext,
  input: z.output<typeof RegisterAccountInput>,
): Promise<Account> {
  const now = ctx.deps.now();
  const userId = ctx.user.userId;
  await refreshProfileFromToken(ctx.deps.db, ctx.user, now);
  return ctx.deps.db.transaction(async (tx) => {
    // One user's registrations of one creator, one at a time: a retried or concurrent request finds
    // the account the first one made. Keyed on the pair, so nobody else's registration waits.
    await tx.execute(
      sql`select pg_advisory_xact_lock(hashtextextended(${`register:${userId}:${input.onlyFansUserId}`}, 0))`,
    );
    const mine = await memberAccountForCreator(tx, userId, input.onlyFansUserId);
    if (mine) return mine;
    // A user who registered this creator before and has since left that account starts a new one:
    // leaving a team does not stop anyone from running the creator with another.
    const [created] = await tx
      .insert(accounts)
      .values({
        onlyFansUserId: input.onlyFansUserId,
        username: input.username,
        createdBy: userId,
        createdAt: now,
      })
      .returning();
    await tx
      .insert(memberships)
      .values({ accountId: created!.id, userId, role: 'owner', createdAt: now, updatedAt: now });
    return toAccount(created!, 'owner');
  });
}

async function memberAccountForCreator(
  tx: Transaction,
  userId: string,
  onlyFansUserId: string,
): Promise<Account | undefined> {
  const [row] = await tx
    .select({ account: accounts, role: memberships.role })
    .from(accounts)
    .innerJoin(memberships, and(eq(memberships.accountId, accounts.id), eq(memberships.userId, userId)))
    .where(eq(accounts.onlyFansUserId, onlyFansUserId))
    .orderBy(asc(accounts.createdAt), asc(accounts.id))
    .limit(1);
  return row ? toAccount(row.account, row.role) : undefined;
}

/** An account's members with their display names (services/profiles.ts), oldest member first. */
async function membersOf(db: Database | Transaction, accountId: string, userId?: string): Promise<Member[]> {
  const rows = await db
    .select({ member: memberships, displayName: profiles.displayName })
    .from(memberships)
    .leftJoin(profiles, eq(profiles.userId, memberships.userId))
    .where(
      userId === undefined
        ? eq(memberships.accountId, accountId)
        : and(eq(memberships.accountId, accountId), eq(memberships.userId, userId)),
    )
    .orderBy(asc(memberships.createdAt), asc(memberships.userId));
  return rows.map((row) => toMember(row.member, row.displayName ?? fallbackDisplayName(row.member.userId)));
}

/** GET /api/v2/accounts/{accountId}/members: any member may see who else is on the account. */
export async function listMembers(ctx: AuthedContext, accountId: string): Promise<Member[]> {
  await roleOn(ctx.deps.db, ctx.user.userId, accountId);
  return membersOf(ctx.deps.db, accountId);
}

/**
 * Only an owner makes, changes or removes an owner; an account always keeps at least one owner. The
 * account's owner rows are locked first so that two concurrent demotions cannot both pass the check.
 */
async function checkOwnerRules(
  tx: Transaction,
  actorRole: Role,
  accountId: string,
  target: { currentRole: Role | undefined; newRole: Role | undefined },
): Promise<void> {
  const touchesOwner = target.currentRole === 'owner' || target.newRole === 'owner';
  if (touchesOwner && actorRole !== 'owner') {
    throw new ApiError('permission_denied', 'Only an owner can make, change or remove an owner.');
  }
  if (target.currentRole === 'owner' && target.newRole !== 'owner') {
    const owners = await tx
      .select({ userId: memberships.userId })
      .from(memberships)
      .where(and(eq(memberships.accountId, accountId), eq(memberships.role, 'owner')))
      .for('update');
    if (owners.length <= 1) {
      throw new ApiError('validation_error', 'An account must keep at least one owner.');
    }
  }
}

async function membershipTransaction<T>(
  ctx: AuthedContext,
  accountId: string,
  userId: string,
  work: (tx: Transaction, actorRole: Role, currentRole: Role | undefined) => Promise<T>,
): Promise<T> {
  return ctx.deps.db.transaction(async (tx) => {
    const actorRole = await managerRoleOn(tx, ctx.user.userId, accountId);
    const [target] = await tx
      .select({ role: memberships.role })
      .from(memberships)
      .where(and(eq(memberships.accountId, accountId), eq(memberships.userId, userId)))
      .for('update');
    return work(tx, actorRole, target?.role);
  });
}

/**
 * POST /api/v2/accounts/{accountId}/members: changes the role of a member. Nobody becomes a member
 * here: joining takes the joiner's consent, an invite they redeem (services/invites.ts).
 */
export async function addMember(ctx: AuthedContext, input: z.output<typeof AddMemberInput>): Promise<Member> {
  return membershipTransaction(ctx, input.accountId, input.userId, async (tx, actorRole, currentRole) => {
    if (!currentRole) {
      throw new ApiError(
        'resource_not_found',
        'This user is not a member of this account: invite them (POST /api/v2/accounts/{accountId}/invites).',
      );
    }
    await checkOwnerRules(tx, actorRole, input.accountId, { currentRole, newRole: input.role });
    if (currentRole !== input.role) {
      await tx
        .update(memberships)
        .set({ role: input.role, updatedAt: ctx.deps.now() })
        .where(and(eq(memberships.accountId, input.accountId), eq(memberships.userId, input.userId)));
    }
    const [member] = await membersOf(tx, input.accountId, input.userId);
    return member!;
  });
}

/** DELETE /api/v2/accounts/{accountId}/members/{userId}. Members may remove themselves (leave). */
export async function removeMember(
  ctx: AuthedContext,
  input: { accountId: string; userId: string },
): Promise<RemovedMember> {
  const db = ctx.deps.db;
  if (input.userId === ctx.user.userId) {
    const role = await roleOn(db, ctx.user.userId, input.accountId);
    return db.transaction(async (tx) => {
      await checkOwnerRules(tx, role, input.accountId, { currentRole: role, newRole: undefined });
      await tx
        .delete(memberships)
        .where(and(eq(memberships.accountId, input.accountId), eq(memberships.userId, input.userId)));
      return { accountId: input.accountId, userId: input.userId, removed: true as const };
    });
  }
  return membershipTransaction(ctx, input.accountId, input.userId, async (tx, actorRole, currentRole) => {
    if (!currentRole) throw new ApiError('resource_not_found', 'Member not found.');
    await checkOwnerRules(tx, actorRole, input.accountId, { currentRole, newRole: undefined });
    await tx
      .delete(memberships)
      .where(and(eq(memberships.accountId, input.accountId), eq(memberships.userId, input.userId)));
    return { accountId: input.accountId, userId: input.userId, removed: true as const };
  });
}
