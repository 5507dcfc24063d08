import { Profile, successEnvelope, UpdateProfileInput } from '@fannotes/contract';
import { z } from 'zod';
import { getProfile, updateProfile } from '../services/profiles.ts';
import { authedProcedure } from '../trpc.ts';
import { ok, protectedRoute } from './openapi-meta.ts';

export const profileRouter = {
  get: authedProcedure
    .meta(
      protectedRoute('profile', 'GET', '/v2/profile', 'Your display name', {
        description:
          "What your teammates see on your notes: your token's `user_metadata.full_name` or `name`, else " +
          "your email's local part, refreshed when you sign in, unless you set your own.",
      }),
    )
    .input(z.strictObject({}).optional())
    .output(successEnvelope(Profile))
    .query(async ({ ctx }) => ok(await getProfile(ctx))),

  update: authedProcedure
    .meta(
      protectedRoute('profile', 'POST', '/v2/profile', 'Set your display name', {
        description: 'Your own name (1 to 80 characters); your token no longer replaces it.',
      }),
    )
    .input(UpdateProfileInput)
    .output(successEnvelope(Profile))
    .mutation(async ({ ctx, input }) => ok(await updateProfile(ctx, input.displayName))),
};
