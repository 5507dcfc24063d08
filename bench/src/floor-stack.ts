/**
 * The floors behind the API's framework stack (`pnpm bench --floor-stack`): the same statements and
 * answers as floor-server.ts, served through Fastify and tRPC as the API serves REST, so that a run
 * says how much of the gap between the API and the bare floors is that stack alone, and how much is
 * the API's own work (docs/PERFORMANCE.md, "What the framework stack costs").
 *
 * What it keeps of the API's path (rest-routes.ts, trpc.ts, routers/notes.ts):
 * - Fastify 5 with its default JSON body parser, the route `POST /api/v2/sync-notes`;
 * - a tRPC caller made per request (`createCaller`, as the REST adapter does), one middleware that
 *   extends the context with the caller (as `authedProcedure`), the contract's zod input
 *   (SyncNotesInput) and output (successEnvelope(SyncNotesData)) validation;
 * - the answer as an object, serialised by Fastify.
 * What it skips, as the bare floors do: token verification, budgets, the in-flight limit, logging,
 * CORS, the body guards (strict UTF-8, nesting, non-finite numbers), the error envelope, resolving
 * and authorizing the fan, and the sync's own logic.
 */
import { SyncNotesData, SyncNotesInput, successEnvelope } from '@fannotes/contract';
import { initTRPC } from '@trpc/server';
import Fastify from 'fastify';
import type { Body } from './floor-server.ts';

type Answer = { body: { data: { notes: unknown[] } }; headers: Record<string, string> };

export async function startFloorStack(
  answer: (input: Body, authorization: string | undefined) => Promise<Answer>,
  port: number,
): Promise<{ port: number; close: () => Promise<void> }> {
  const t = initTRPC
    .context<{ authorization: string | undefined; setHeaders: (headers: Record<string, string>) => void }>()
    .create({ isDev: false });
  const withCaller = t.procedure.use(({ ctx, next }) =>
    next({ ctx: { ...ctx, caller: ctx.authorization ?? '' } }),
  );
  const router = t.router({
    notes: t.router({
      sync: withCaller
        .input(SyncNotesInput)
        .output(successEnvelope(SyncNotesData))
        .mutation(async ({ ctx, input }) => {
          const answered = await answer(input as Body, ctx.authorization);
          ctx.setHeaders(answered.headers);
          // The floors' notes carry Date objects, which JSON.stringify writes as ISO strings; the
          // contract's output schema wants the strings themselves.
          for (const note of answered.body.data.notes as Record<string, unknown>[]) {
            note.createdAt = (note.createdAt as Date).toISOString();
            note.updatedAt = (note.updatedAt as Date).toISOString();
          }
          // Its type is the floors' own; the output schema checks it at run time, as the API's.
          return answered.body as never;
        }),
    }),
  });
  const createCaller = t.createCallerFactory(router);
  const app = Fastify({ logger: false, keepAliveTimeout: 5_000 });
  app.post('/api/v2/sync-notes', (request, reply) =>
    createCaller({
      authorization: request.headers.authorization,
      setHeaders: (headers) => void reply.headers(headers),
    }).notes.sync(request.body as never),
  );
  await app.listen({ port, host: '127.0.0.1' });
  return { port: (app.server.address() as { port: number }).port, close: () => app.close() };
}
