import type {
  Account,
  AddMemberInput,
  Member,
  RegisterAccountInput,
  RemovedMember,
  Role,
} from '@fannotes/contract';
import { accounts, memberships, type Transaction } from '@fannotes/db';
import { and, asc, eq } from 'drizzle-orm';
import type { z } from 'zod';
import type { AuthedContext } from '../context.ts';
import { ApiError } from '../errors.ts';
import { accountNotFound, requireRight, roleOn } from './authz.ts';
import { toAccount, toMember } from './serialize.ts';

/** GET /api/v2/accounts: the caller's accounts with their role on each. */
export async function listAccounts(ctx: AuthedContext): Promise<Account[]> {
  const rows = await ctx.deps.db
    .select({ account: accounts, role: memberships.role })
    .from(memberships)
    .innerJoin(accounts, eq(accounts.id, memberships.accountId))
    .where(eq(memberships.userId, ctx.user.userId))
    .orderBy(asc(accounts.username), asc(accounts.id));
  return rows.map((row) => toAccount(row.account, row.role));
}

/**
 * POST /api/v2/accounts: registers an OnlyFans creator page and makes the caller its owner.
 * Registering a page someone already registered makes nobody a member: a member gets the account
 * back, anyone else 403 (an owner must add them).
 */
export async function registerAccount(
  ctx: AuthedContext,
  input: z.output<typeof RegisterAccountInput>,
): Promise<Account> {
  const now = ctx.deps.now();
  const userId = ctx.user.userId;
  return ctx.deps.db.transaction(async (tx) => {
    const [created] = await tx
      .insert(accounts)
      .values({
        onlyFansUserId: input.onlyFansUserId,
        username: input.username,
        createdBy: userId,
        createdAt: now,
      })
      .onConflictDoNothing({ target: accounts.onlyFansUserId })
      .returning();
    if (created) {
      await tx
        .insert(memberships)
        .values({ accountId: created.id, userId, role: 'owner', createdAt: now, updatedAt: now });
      return toAccount(created, 'owner');
    }
    const [existing] = await tx
      .select({ account: accounts, role: memberships.role })
      .from(accounts)
      .leftJoin(memberships, and(eq(memberships.accountId, accounts.id), eq(memberships.userId, userId)))
      .where(eq(accounts.onlyFansUserId, input.onlyFansUserId));
    if (!existing?.role) {
      throw new ApiError(
        'permission_denied',
        'This OnlyFans account is already registered; ask one of its owners to add you.',
      );
    }
    return toAccount(existing.account, existing.role);
  });
}

/** GET /api/v2/accounts/{accountId}/members: any member may see who else is on the account. */
export async function listMembers(ctx: AuthedContext, accountId: string): Promise<Member[]> {
  await roleOn(ctx.deps.db, ctx.user.userId, accountId);
  const rows = await ctx.deps.db
    .select()
    .from(memberships)
    .where(eq(memberships.accountId, accountId))
    .orderBy(asc(memberships.createdAt), asc(memberships.userId));
  return rows.map(toMember);
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
    const [actor] = await tx
      .select({ role: memberships.role })
      .from(memberships)
      .where(and(eq(memberships.accountId, accountId), eq(memberships.userId, ctx.user.userId)));
    if (!actor) throw accountNotFound();
    requireRight(actor.role, 'manage');
    const [target] = await tx
      .select({ role: memberships.role })
      .from(memberships)
      .where(and(eq(memberships.accountId, accountId), eq(memberships.userId, userId)))
      .for('update');
    return work(tx, actor.role, target?.role);
  });
}

/** POST /api/v2/accounts/{accountId}/members: adds a member, or changes the role of one. */
export async function addMember(ctx: AuthedContext, input: z.output<typeof AddMemberInput>): Promise<Member> {
  return membershipTransaction(ctx, input.accountId, input.userId, async (tx, actorRole, currentRole) => {
    await checkOwnerRules(tx, actorRole, input.accountId, { currentRole, newRole: input.role });
    const now = ctx.deps.now();
    const [row] = await tx
      .insert(memberships)
      .values({
        accountId: input.accountId,
        userId: input.userId,
        role: input.role,
        createdAt: now,
        updatedAt: now,
      })
      .onConflictDoUpdate({
        target: [memberships.accountId, memberships.userId],
        set: { role: input.role, updatedAt: now },
      })
      .returning();
    return toMember(row!);
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
