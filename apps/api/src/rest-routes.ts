import type { AnyProcedure } from '@trpc/server';
import type { FastifyRequest } from 'fastify';
import type { OpenApiMeta } from 'trpc-to-openapi';
import type { AppDeps } from './context.ts';
import { ApiError } from './errors.ts';
import { contextOf } from './request-context.ts';
import { appRouter, createCaller } from './root.ts';
import type { HttpServer } from './server.ts';

export type Method = 'GET' | 'POST' | 'DELETE';

export interface RestRoute {
  method: Method;
  /** The documented path as Fastify writes it: `/api/v2/accounts/:accountId/members`. */
  url: string;
  /** The procedure it calls, by its path in the router: `accounts.members`. */
  procedure: string;
}

/**
 * The REST surface, one row per procedure with `meta.openapi` (enabled, as trpc-to-openapi counts it
 * when it writes the OpenAPI document from the same meta): the route and its procedure. Read here
 * rather than through trpc-to-openapi's walker, whose package would bring its whole generator and
 * adapters (yaml, co-body, iconv-lite: 1.3 MB of bundle) into every process's memory at start.
 */
export const restRoutes: readonly RestRoute[] = Object.entries(
  // Typed as the nested router; at run time a flat record by dotted path (`accounts.members`).
  appRouter._def.procedures as unknown as Record<string, AnyProcedure>,
).flatMap(([procedure, { _def }]) => {
  const openapi = (_def.meta as OpenApiMeta | undefined)?.openapi;
  if (!openapi || openapi.enabled === false) return [];
  const url = `/api${openapi.path.replace(/\{(\w+)\}/g, ':$1')}`;
  return [{ method: openapi.method as Method, url, procedure }];
});

type Procedure = (input: unknown) => Promise<unknown>;

/**
 * Serves every row of `restRoutes`: the input is the JSON body (POST) or the query string (GET, DELETE)
 * with the path parameters over it, validated by the procedure's own zod input exactly as tRPC does
 * (no coercion: `"isPinned": "false"` is a string, refused), and the procedure is called through
 * `createCaller`, so auth, budgets and the in-flight limit run as for tRPC. The answer is what the
 * procedure returns (the success envelope); failures go to http-errors.ts.
 */
export function registerRestRoutes(app: HttpServer, deps: AppDeps): void {
  for (const route of restRoutes) {
    const keys = route.procedure.split('.');
    app.route({
      method: route.method,
      url: route.url,
      handler: (request) => {
        const input = restInput(route.method, request);
        let target: unknown = createCaller(contextOf(deps, request));
        for (const key of keys) target = (target as Record<string, unknown>)[key];
        return (target as Procedure)(input);
      },
    });
  }
}

/** A REST request's procedure input: body or query, with the path parameters over it. */
export function restInput(method: Method, request: FastifyRequest): Record<string, unknown> {
  const query = request.query as Record<string, unknown>;
  // Fastify's query object has no prototype; `__proto__` would not survive being merged into a plain one.
  if (Object.hasOwn(query, '__proto__')) {
    throw new ApiError('validation_error', 'Invalid request: unknown field(s): __proto__');
  }
  const body = bodyObject(request.body);
  // A DELETE's parameters are in its path: a body would be ignored, so `{"bogus": 1}` removed a member
  // instead of being refused as an unknown field.
  if (method === 'DELETE' && Object.keys(body).length > 0) {
    throw new ApiError(
      'validation_error',
      'This endpoint takes no request body: its parameters are in the path.',
    );
  }
  return { ...(method === 'POST' ? body : query), ...(request.params as Record<string, string>) };
}

/** A REST body is a JSON object; none at all is `{}`. */
function bodyObject(body: unknown): Record<string, unknown> {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError('validation_error', 'The request body must be a JSON object.');
  }
  return body as Record<string, unknown>;
}
