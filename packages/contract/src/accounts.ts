import { z } from 'zod';
import { AccountId, OnlyFansUserId, Timestamp, UserId, Uuid } from './ids.ts';
import { userText } from './text.ts';

export const roles = ['owner', 'manager', 'chatter', 'viewer'] as const;
export const Role = z.enum(roles);
export type Role = z.infer<typeof Role>;

export const Account = z.object({
  id: z.string(),
  onlyFansUserId: z.string(),
  username: z.string(),
  /** The caller's role on this account. */
  role: Role,
  createdAt: Timestamp,
});
export type Account = z.infer<typeof Account>;

/**
 * POST /api/v2/accounts: register an OnlyFans creator page; the caller becomes its owner. Several
 * agencies may register the same creator: each gets its own account, and none learns of the others.
 * A caller who is already a member of an account for that creator gets it back.
 */
export const RegisterAccountInput = z.strictObject({
  onlyFansUserId: OnlyFansUserId,
  username: userText('username', 100),
});
export type RegisterAccountInput = z.input<typeof RegisterAccountInput>;

export const AccountMembersInput = z.strictObject({ accountId: AccountId });

/**
 * POST /api/v2/accounts/{accountId}/members: change the role of a member. Nobody becomes a member
 * without their consent: new members join by redeeming an invite.
 */
export const AddMemberInput = z.strictObject({ accountId: AccountId, userId: UserId, role: Role });
export type AddMemberInput = z.input<typeof AddMemberInput>;

/** DELETE /api/v2/accounts/{accountId}/members/{userId}. */
export const RemoveMemberInput = z.strictObject({ accountId: AccountId, userId: UserId });
export type RemoveMemberInput = z.input<typeof RemoveMemberInput>;

/** A display name: what teammates see on the notes a member wrote. */
export const DisplayName = userText('displayName', 80);

export const Member = z.object({
  accountId: z.string(),
  userId: z.string(),
  role: Role,
  /** From the member's token (`user_metadata.full_name` or `name`, else the email's local part), or as they set it. */
  displayName: z.string(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Member = z.infer<typeof Member>;

export const RemovedMember = z.object({
  accountId: z.string(),
  userId: z.string(),
  removed: z.literal(true),
});
export type RemovedMember = z.infer<typeof RemovedMember>;

/** POST /api/v2/profile: set your own display name. */
export const UpdateProfileInput = z.strictObject({ displayName: DisplayName });
export type UpdateProfileInput = z.input<typeof UpdateProfileInput>;

export const Profile = z.object({
  userId: z.string(),
  displayName: z.string(),
  updatedAt: Timestamp,
});
export type Profile = z.infer<typeof Profile>;

/** At most 7 days. */
export const MAX_INVITE_HOURS = 168;
export const DEFAULT_INVITE_HOURS = 72;
export const MAX_INVITE_USES = 100;

/** POST /api/v2/accounts/{accountId}/invites: owners and managers; only an owner invites an owner. */
export const CreateInviteInput = z.strictObject({
  accountId: AccountId,
  role: Role,
  expiresInHours: z.number().int().min(1).max(MAX_INVITE_HOURS).default(DEFAULT_INVITE_HOURS),
  maxUses: z.number().int().min(1).max(MAX_INVITE_USES).default(1),
});
export type CreateInviteInput = z.input<typeof CreateInviteInput>;

export const ListInvitesInput = z.strictObject({ accountId: AccountId });

/** DELETE /api/v2/accounts/{accountId}/invites/{inviteId}. */
export const RevokeInviteInput = z.strictObject({ accountId: AccountId, inviteId: Uuid });
export type RevokeInviteInput = z.input<typeof RevokeInviteInput>;

/**
 * An invite code as people pass it around: `FN-` and 26 base32 characters (128 random bits),
 * grouped or not, in any case. A pasted invite link works too: its code is taken from it.
 */
export const InviteCode = z
  .string()
  .trim()
  .max(2048)
  .transform((value, ctx) => {
    const code = parseInviteCode(value);
    if (code === null) {
      ctx.addIssue({ code: 'custom', message: 'code must be an invite code (FN-…) or an invite link' });
      return z.NEVER;
    }
    return code;
  });

const CROCKFORD = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/**
 * The canonical code (`FN-` + 26 upper-case Crockford base32 characters) in `text`, or null. A link's
 * fragment is read first, and every candidate is tried: an `fn-` in a host name does not hide the code.
 */
export function parseInviteCode(text: string): string | null {
  const hash = text.lastIndexOf('#');
  for (const part of hash >= 0 ? [text.slice(hash + 1), text] : [text]) {
    for (const match of part.matchAll(/FN[-\s]?([0-9A-Za-z][0-9A-Za-z\s-]{24,60})/gi)) {
      const body = match[1]!.replace(/[\s-]/g, '').toUpperCase().slice(0, 26);
      if (CROCKFORD.test(body)) return `FN-${body}`;
    }
  }
  return null;
}

/** POST /api/v2/invites/redeem. */
export const RedeemInviteInput = z.strictObject({ code: InviteCode });
export type RedeemInviteInput = z.input<typeof RedeemInviteInput>;

export const InviteStatus = z.enum(['active', 'expired', 'used_up', 'revoked']);
export type InviteStatus = z.infer<typeof InviteStatus>;

export const Invite = z.object({
  id: z.string(),
  accountId: z.string(),
  role: Role,
  /** The last 4 characters of the code, to tell invites apart; the code itself is only stored hashed. */
  codeHint: z.string(),
  createdBy: z.string(),
  createdAt: Timestamp,
  expiresAt: Timestamp,
  maxUses: z.number().int(),
  uses: z.number().int(),
  revokedAt: Timestamp.nullable(),
  status: InviteStatus,
});
export type Invite = z.infer<typeof Invite>;

/** The answer to creating an invite: the only time its code is shown. */
export const CreatedInvite = Invite.extend({
  code: z.string(),
  /** A link that shows the code and how to redeem it. */
  url: z.string(),
});
export type CreatedInvite = z.infer<typeof CreatedInvite>;

/** The answer to redeeming: the account joined (or already a member of) and your role on it. */
export const RedeemedInvite = z.object({
  account: Account,
  /** False when you were already a member: your role did not change, and no use was spent. */
  joined: z.boolean(),
});
export type RedeemedInvite = z.infer<typeof RedeemedInvite>;
