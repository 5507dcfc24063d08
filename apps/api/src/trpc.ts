import { HEARTBEAT_INTERVAL_MS } from '@fannotes/contract';
import { initTRPC } from '@trpc/server';
import { decodeJwt } from 'jose';
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
    // Subscriptions (notes.changes) over SSE: a ping on an idle stream, and the client reconnects when
    // it has heard nothing, not even a ping, for over two intervals (a half-open connection).
    sse: {
      ping: { enabled: true, intervalMs: HEARTBEAT_INTERVAL_MS },
      client: { reconnectAfterInactivityMs: HEARTBEAT_INTERVAL_MS * 2 + 10_000 },
    },
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
  const { user } = await authenticate(ctx);
  const release = ctx.deps.inFlight.enter(user.userId);
  try {
    return await next({ ctx: { ...ctx, user } });
  } finally {
    release();
  }
});

/**
 * For long-lived streams (subscriptions): authenticated and budgeted as every request, but not counted
 * in flight. A stream is open for hours: counted, four of them would lock their user out of every
 * other call; the hub caps open streams per user instead (live/hub.ts). Carries the token's `exp`, in
 * ms: a stream never outlives its token.
 */
export const streamProcedure = t.procedure.use(async ({ ctx, next }) => {
  const { user, token } = await authenticate(ctx);
  // Verified above, where `exp` is a required claim.
  const tokenExpiresAt = (decodeJwt(token).exp ?? 0) * 1000;
  return next({ ctx: { ...ctx, user, tokenExpiresAt } });
});

/** The caller's token, checked, and one request taken from their budget. */
async function authenticate(ctx: Context) {
  const source = tokenFromRequest(ctx.headers, ctx.deps.allowedOrigins);
  if (!source) throw new ApiError('authentication_required', 'An access token is required.');
  const user = requireRegisteredUser(await ctx.deps.verifyToken(source.token));
  await ctx.deps.budgets.take(user.userId, ctx.deps.now().getTime());
  return { user, token: source.token };
}
