import { ChangesInput, type LiveEvent } from '@fannotes/contract';
import { ApiError } from '../errors.ts';
import { resolveFan } from '../services/authz.ts';
import { streamProcedure } from '../trpc.ts';
import type { LiveSubscription } from './hub.ts';

/**
 * `notes.changes`: pokes for every account the caller is a member of, or for one fan. Everything that
 * can refuse the stream (token, fan, stream cap) is decided before the stream is returned, so a direct
 * caller gets the error from the call itself; over SSE tRPC reports it as the stream's error event.
 */
export const changesSubscription = streamProcedure
  .input(ChangesInput)
  .subscription(async ({ ctx, input, signal }) => {
    const hub = ctx.deps.live;
    if (!hub) {
      throw new ApiError('service_unavailable', 'Live updates are not available on this server.', {
        retryAfterSeconds: 5,
      });
    }
    // A fan that is not the caller's answers exactly as an unknown one (404), as everywhere else.
    const filter = input ? (await resolveFan(ctx.deps.db, ctx.user.userId, input)).fan : undefined;
    const stream = await hub.subscribe({
      userId: ctx.user.userId,
      filter: filter && { accountId: filter.accountId, fanId: filter.fanId },
      expiresAt: ctx.tokenExpiresAt,
    });
    return events(stream, signal);
  });

/**
 * The stream's events until it ends, its client leaves or the request is aborted. The abort closes the
 * stream at once: a generator waiting for its next event could not be returned before one came.
 */
async function* events(stream: LiveSubscription, signal: AbortSignal | undefined): AsyncGenerator<LiveEvent> {
  const onAbort = () => stream.close();
  if (signal?.aborted) stream.close();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const event of stream) yield event;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    stream.close();
  }
}
