import { initTRPC } from '@trpc/server';
import type { OpenApiMeta } from 'trpc-to-openapi';
import { requireRegisteredUser } from './auth/verify-token.ts';
import { tokenFromRequest } from './auth/request-token.ts';
import type { Context } from './context.ts';
import { ApiError, toApiError } from './errors.ts';

/**
 * The one initTRPC. No transformer: tRPC and REST both speak plain JSON with ISO date strings.
 * Error shapes carry our code in `data.code` and never a stack (`isDev: false`).
 */
const t = initTRPC
  .context<Context>()
  .meta<OpenApiMeta>()
  .create({
    isDev: false,
    errorFormatter({ error, shape, ctx }) {
      const apiError = toApiError(error);
      return {
        message: apiError.message,
        code: shape.code,
        data: {
          code: apiError.apiCode,
          httpStatus: apiError.httpStatus,
          ...(apiError.details ? { details: apiError.details } : {}),
          ...(ctx?.requestId ? { requestId: ctx.requestId } : {}),
        },
      };
    },
  });

export const router = t.router;
export const publicProcedure = t.procedure;
export const createCallerFactory = t.createCallerFactory;

/**
 * Authenticates before anything else runs, input validation included: a caller without a valid token
 * learns nothing about what their request would have done.
 */
export const authedProcedure = t.procedure.use(async ({ ctx, next }) => {
  const source = tokenFromRequest(ctx.headers, ctx.deps.allowedOrigins);
  if (!source) throw new ApiError('authentication_required', 'An access token is required.');
  const user = requireRegisteredUser(await ctx.deps.verifyToken(source.token));
  await ctx.deps.budgets.take(user.userId, ctx.deps.now().getTime());
  const release = ctx.deps.inFlight.enter(user.userId);
  try {
    return await next({ ctx: { ...ctx, user, log: ctx.log.child({ userId: user.userId }) } });
  } finally {
    release();
  }
});
