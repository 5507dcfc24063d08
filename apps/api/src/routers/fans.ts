import { Fan, UpsertFanInput, successEnvelope } from '@fannotes/contract';
import { upsertFan } from '../services/fans.ts';
import { authedProcedure } from '../trpc.ts';
import { ok, protectedRoute } from './openapi-meta.ts';

export const fansRouter = {
  upsert: authedProcedure
    .meta(protectedRoute('fans', 'POST', '/v2/fans', 'Register a fan, or update their name'))
    .input(UpsertFanInput)
    .output(successEnvelope(Fan))
    .mutation(async ({ ctx, input }) => ok(await upsertFan(ctx, input))),
};
