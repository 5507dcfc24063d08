import { RedeemedInvite, RedeemInviteInput, successEnvelope } from '@fannotes/contract';
import { redeemInvite } from '../services/invites.ts';
import { authedProcedure } from '../trpc.ts';
import { ok, protectedRoute } from './openapi-meta.ts';

export const invitesRouter = {
  redeem: authedProcedure
    .meta(
      protectedRoute('accounts', 'POST', '/v2/invites/redeem', 'Join an account with an invite', {
        description:
          'The code (`FN-…`, in any case, with or without dashes or spaces) or the invite link. You join ' +
          "the invite's account with its role. Already a member: `joined: false`, your role is unchanged " +
          'and no use is spent. An unknown, expired, revoked or used-up code answers 404.',
      }),
    )
    .input(RedeemInviteInput)
    .output(successEnvelope(RedeemedInvite))
    .mutation(async ({ ctx, input }) => ok(await redeemInvite(ctx, input.code))),
};
