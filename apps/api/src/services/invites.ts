import { createHash, randomBytes } from 'node:crypto';
import type {
  CreatedInvite,
  CreateInviteInput,
  Invite,
  InviteStatus,
  RedeemedInvite,
  Role,
} from '@fannotes/contract';
import { accounts, invites, memberships, type Transaction } from '@fannotes/db';
import { and, desc, eq, sql } from 'drizzle-orm';
import type { z } from 'zod';
import type { AuthedContext } from '../context.ts';
import { ApiError } from '../errors.ts';
import { managerRoleOn } from './authz.ts';
import { refreshProfileFromToken } from './profiles.ts';
import { toAccount } from './serialize.ts';

// Crockford's base32: no I, L, O, U, so a code read aloud or typed from a screen survives.
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A new invite code: `FN-` and 26 base32 characters carrying 16 random bytes (128 bits; the first
 * character carries 3 of them). Guessing one is hopeless, however many are live: the only defence a
 * code needs is its length, and redeeming is budgeted per user as every request.
 */
export function newInviteCode(): string {
  let bits = 0n;
  for (const byte of randomBytes(16)) bits = (bits << 8n) | BigInt(byte);
  let body = '';
  for (let shift = 125n; shift >= 0n; shift -= 5n) body += CROCKFORD[Number((bits >> shift) & 31n)];
  return `FN-${body}`;
}

/** What is stored of a code: its sha256 (of the canonical form, as parseInviteCode returns it). */
export const inviteCodeHash = (code: string): string => createHash('sha256').update(code).digest('hex');

type InviteRow = typeof invites.$inferSelect;

function statusOf(row: InviteRow, now: Date): InviteStatus {
  if (row.revokedAt) return 'revoked';
  if (row.uses >= row.maxUses) return 'used_up';
  if (row.expiresAt <= now) return 'expired';
  return 'active';
}

function toInvite(row: InviteRow, now: Date): Invite {
  return {
    id: row.id,
    accountId: row.accountId,
    role: row.role,
    codeHint: row.codeHint,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    maxUses: row.maxUses,
    uses: row.uses,
    revokedAt: row.revokedAt?.toISOString() ?? null,
    status: statusOf(row, now),
  };
}

/** The page that shows a code: PUBLIC_URL, else the origin the request came in at (server.ts `GET /invite`). */
function inviteUrl(ctx: AuthedContext, code: string): string {
  return `${ctx.deps.publicUrl ?? ctx.headers.serverOrigin ?? ''}/invite#${code}`;
}

const ownerInviteDenied = () =>
  new ApiError('permission_denied', 'Only an owner can invite an owner, or revoke such an invite.');

/** POST /api/v2/accounts/{accountId}/invites: owners and managers; only an owner invites an owner. */
export async function createInvite(
  ctx: AuthedContext,
  input: z.output<typeof CreateInviteInput>,
): Promise<CreatedInvite> {
  const now = ctx.deps.now();
  const code = newInviteCode();
  return ctx.deps.db.transaction(async (tx) => {
    const role = await managerRoleOn(tx, ctx.user.userId, input.accountId);
    if (input.role === 'owner' && role !== 'owner') throw ownerInviteDenied();
    const [row] = await tx
      .insert(invites)
      .values({
        accountId: input.accountId,
        codeHash: inviteCodeHash(code),
        codeHint: code.slice(-4),
        role: input.role,
        createdBy: ctx.user.userId,
        createdAt: now,
        expiresAt: new Date(now.getTime() + input.expiresInHours * 3_600_000),
        maxUses: input.maxUses,
      })
      .returning();
    return { ...toInvite(row!, now), code, url: inviteUrl(ctx, code) };
  });
}

/** GET /api/v2/accounts/{accountId}/invites: newest first, with status and uses; never the codes. */
export async function listInvites(ctx: AuthedContext, accountId: string): Promise<Invite[]> {
  const now = ctx.deps.now();
  return ctx.deps.db.transaction(async (tx) => {
    await managerRoleOn(tx, ctx.user.userId, accountId);
    const rows = await tx
      .select()
      .from(invites)
      .where(eq(invites.accountId, accountId))
      .orderBy(desc(invites.createdAt), desc(invites.id));
    return rows.map((row) => toInvite(row, now));
  });
}

/** DELETE /api/v2/accounts/{accountId}/invites/{inviteId}: the code stops working at once. Revoking again changes nothing. */
export async function revokeInvite(
  ctx: AuthedContext,
  input: { accountId: string; inviteId: string },
): Promise<Invite> {
  const now = ctx.deps.now();
  return ctx.deps.db.transaction(async (tx) => {
    const role = await managerRoleOn(tx, ctx.user.userId, input.accountId);
    const [invite] = await tx
      .select()
      .from(invites)
      .where(and(eq(invites.id, input.inviteId), eq(invites.accountId, input.accountId)))
      .for('update');
    if (!invite) throw new ApiError('resource_not_found', 'Invite not found.');
    if (invite.role === 'owner' && role !== 'owner') throw ownerInviteDenied();
    if (invite.revokedAt) return toInvite(invite, now);
    const [revoked] = await tx
      .update(invites)
      .set({ revokedAt: now })
      .where(eq(invites.id, invite.id))
      .returning();
    return toInvite(revoked!, now);
  });
}

// One answer for unknown, expired, revoked and used-up codes: a code's fate is nobody else's business.
const invalidInvite = () =>
  new ApiError(
    'resource_not_found',
    'This invite code does not work: it may be mistyped, expired, revoked or used up. Ask for a new one.',
  );

/**
 * POST /api/v2/invites/redeem: the caller joins the invite's account with its role. One transaction,
 * holding the invite's row lock from its check to its use: two people redeeming the last use of an
 * invite at once queue on that lock, and the second finds it used up. A caller who is already a member
 * keeps their role and spends no use (`joined: false`), whatever the state of the invite.
 */
export async function redeemInvite(ctx: AuthedContext, code: string): Promise<RedeemedInvite> {
  const now = ctx.deps.now();
  const userId = ctx.user.userId;
  const result = await ctx.deps.db.transaction(async (tx) => {
    const [invite] = await tx
      .select()
      .from(invites)
      .where(eq(invites.codeHash, inviteCodeHash(code)))
      .for('update');
    if (!invite) throw invalidInvite();
    // With the join, so that teammates listing members see the newcomer's name at once; a refused
    // code writes nothing.
    await refreshProfileFromToken(tx, ctx.user, now);
    const [account] = await tx.select().from(accounts).where(eq(accounts.id, invite.accountId));
    const current = await memberRole(tx, invite.accountId, userId);
    if (current) return { account: toAccount(account!, current), joined: false };
    if (statusOf(invite, now) !== 'active') throw invalidInvite();
    const [joined] = await tx
      .insert(memberships)
      .values({ accountId: invite.accountId, userId, role: invite.role, createdAt: now, updatedAt: now })
      .onConflictDoNothing()
      .returning({ role: memberships.role });
    if (!joined) {
      // Joined at this moment through another invite of the same account.
      const role = await memberRole(tx, invite.accountId, userId);
      return { account: toAccount(account!, role!), joined: false };
    }
    await tx
      .update(invites)
      .set({ uses: sql`${invites.uses} + 1` })
      .where(eq(invites.id, invite.id));
    return { account: toAccount(account!, joined.role), joined: true };
  });
  // This process's live hub reads the newcomer's memberships now rather than at its next refresh.
  if (result.joined) await ctx.deps.live?.refreshUser(userId);
  return result;
}

async function memberRole(tx: Transaction, accountId: string, userId: string): Promise<Role | undefined> {
  const [row] = await tx
    .select({ role: memberships.role })
    .from(memberships)
    .where(and(eq(memberships.accountId, accountId), eq(memberships.userId, userId)));
  return row?.role;
}
