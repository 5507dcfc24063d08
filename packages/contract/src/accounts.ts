import { z } from 'zod';
import { AccountId, OnlyFansUserId, Timestamp, UserId } from './ids.ts';
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

/** POST /api/v2/accounts: register an OnlyFans creator page; the caller becomes its owner. */
export const RegisterAccountInput = z.strictObject({
  onlyFansUserId: OnlyFansUserId,
  username: userText('username', 100),
});
export type RegisterAccountInput = z.input<typeof RegisterAccountInput>;

export const AccountMembersInput = z.strictObject({ accountId: AccountId });

/** POST /api/v2/accounts/{accountId}/members: add a member, or change the role of one. */
export const AddMemberInput = z.strictObject({ accountId: AccountId, userId: UserId, role: Role });
export type AddMemberInput = z.input<typeof AddMemberInput>;

/** DELETE /api/v2/accounts/{accountId}/members/{userId}. */
export const RemoveMemberInput = z.strictObject({ accountId: AccountId, userId: UserId });
export type RemoveMemberInput = z.input<typeof RemoveMemberInput>;

export const Member = z.object({
  accountId: z.string(),
  userId: z.string(),
  role: Role,
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
