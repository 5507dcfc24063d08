import {
  Account,
  AccountMembersInput,
  AddMemberInput,
  Member,
  RegisterAccountInput,
  RemoveMemberInput,
  RemovedMember,
  successEnvelope,
} from '@fannotes/contract';
import { z } from 'zod';
import { addMember, listAccounts, listMembers, registerAccount, removeMember } from '../services/accounts.ts';
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
          'You become its owner. An account registered by someone else answers 403: ask its owner.',
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
      protectedRoute(
        'accounts',
        'POST',
        '/v2/accounts/{accountId}/members',
        'Add a member, or change their role',
        {
          description: 'Owners and managers manage members; only an owner makes or removes an owner.',
        },
      ),
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
};
