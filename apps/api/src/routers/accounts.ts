import {
  Account,
  AccountMembersInput,
  AddMemberInput,
  CreatedInvite,
  CreateInviteInput,
  Invite,
  ListInvitesInput,
  Member,
  RegisterAccountInput,
  RemoveMemberInput,
  RemovedMember,
  RevokeInviteInput,
  successEnvelope,
} from '@fannotes/contract';
import { z } from 'zod';
import { addMember, listAccounts, listMembers, registerAccount, removeMember } from '../services/accounts.ts';
import { createInvite, listInvites, revokeInvite } from '../services/invites.ts';
import { authedProcedure } from '../trpc.ts';
import { ok, protectedRoute } from './openapi-meta.ts';

export const accountsRouter = {
  list: authedProcedure
    .meta(protectedRoute('accounts', 'GET', '/v2/accounts', 'List your accounts'))
    .input(z.strictObject({}).optional())
    .output(successEnvelope(z.array(Account)))
    .query(async ({ ctx }) => ok(await listAccounts(ctx))),

  register: authedProcedure
    .meta(
      protectedRoute('accounts', 'POST', '/v2/accounts', 'Register an OnlyFans account', {
        description:
          'Creates an account for this creator with you as its owner. Several teams may register the ' +
          'same creator, each its own account; none learns of the others. If you are already a member ' +
          'of an account for this creator, that account is returned with your role, and nothing is created.',
      }),
    )
    .input(RegisterAccountInput)
    .output(successEnvelope(Account))
    .mutation(async ({ ctx, input }) => ok(await registerAccount(ctx, input))),

  members: authedProcedure
    .meta(protectedRoute('accounts', 'GET', '/v2/accounts/{accountId}/members', "List an account's members"))
    .input(AccountMembersInput)
    .output(successEnvelope(z.array(Member)))
    .query(async ({ ctx, input }) => ok(await listMembers(ctx, input.accountId))),

  addMember: authedProcedure
    .meta(
      protectedRoute('accounts', 'POST', '/v2/accounts/{accountId}/members', "Change a member's role", {
        description:
          'Owners and managers change the role of an existing member; only an owner makes, changes or ' +
          'removes an owner, and an account keeps at least one owner. Nobody becomes a member here: a ' +
          'user who is not a member answers 404; invite them (POST /api/v2/accounts/{accountId}/invites).',
      }),
    )
    .input(AddMemberInput)
    .output(successEnvelope(Member))
    .mutation(async ({ ctx, input }) => ok(await addMember(ctx, input))),

  removeMember: authedProcedure
    .meta(
      protectedRoute('accounts', 'DELETE', '/v2/accounts/{accountId}/members/{userId}', 'Remove a member', {
        description: 'An account always keeps at least one owner. Members may remove themselves.',
      }),
    )
    .input(RemoveMemberInput)
    .output(successEnvelope(RemovedMember))
    .mutation(async ({ ctx, input }) => ok(await removeMember(ctx, input))),

  createInvite: authedProcedure
    .meta(
      protectedRoute('accounts', 'POST', '/v2/accounts/{accountId}/invites', 'Invite someone to an account', {
        description:
          'Owners and managers; only an owner invites an owner. Answers the invite with its `code` and a ' +
          '`url` showing it: the only time the code is shown (only its hash is kept). `expiresInHours` ' +
          '1 to 168 (default 72), `maxUses` 1 to 100 (default 1).',
      }),
    )
    .input(CreateInviteInput)
    .output(successEnvelope(CreatedInvite))
    .mutation(async ({ ctx, input }) => ok(await createInvite(ctx, input))),

  invites: authedProcedure
    .meta(
      protectedRoute('accounts', 'GET', '/v2/accounts/{accountId}/invites', "List an account's invites", {
        description:
          'Owners and managers. Newest first, with status (active, expired, used_up, revoked) and uses; ' +
          'never the codes, only their last 4 characters.',
      }),
    )
    .input(ListInvitesInput)
    .output(successEnvelope(z.array(Invite)))
    .query(async ({ ctx, input }) => ok(await listInvites(ctx, input.accountId))),

  revokeInvite: authedProcedure
    .meta(
      protectedRoute(
        'accounts',
        'DELETE',
        '/v2/accounts/{accountId}/invites/{inviteId}',
        'Revoke an invite',
        {
          description:
            'Owners and managers; only an owner revokes an owner invite. Its code stops working at once; ' +
            'members who joined with it stay.',
        },
      ),
    )
    .input(RevokeInviteInput)
    .output(successEnvelope(Invite))
    .mutation(async ({ ctx, input }) => ok(await revokeInvite(ctx, input))),
};
