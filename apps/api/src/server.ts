import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from '@fastify/cors';
import { fastifyRequestHandler } from '@trpc/server/adapters/fastify';
import { fastify, type FastifyInstance, type RawServerDefault } from 'fastify';
import { MAX_BODY_BYTES, registerJsonBodyParser } from './body-guard.ts';
import type { AppDeps } from './context.ts';
import { registerDocs } from './docs-page.ts';
import { ApiError, errorHeaders, toApiError } from './errors.ts';
import { registerEventsRoute } from './events-route.ts';
import { registerInvitePage } from './invite-page.ts';
import { answerClientError, answerFrameworkError, logFailure, registerErrorHandlers } from './http-errors.ts';
import type { Logger } from './logger.ts';
import { contextOf, registerRequestContext, RequestLog, requestIdOf } from './request-context.ts';
import { registerRestRoutes } from './rest-routes.ts';
import { appRouter } from './root.ts';

/** Fastify with our pino logger: `request.log` is a child of `deps.logger` carrying `requestId`. */
export type HttpServer = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger>;

export interface ServerOptions {
  deps: AppDeps;
  /** Resolves when the database answers; /readyz reports it. */
  ping: () => Promise<void>;
  /** PUBLIC_URL: the OpenAPI document's server; unset, the document names `/api` (relative). */
  publicUrl?: string | undefined;
  /**
   * Report each request's database statements and round trips in `x-db-statements` and
   * `x-db-round-trips` (DB_QUERY_COUNT, for benchmarks; the database must count them too).
   */
  countQueries?: boolean;
  /** How often an idle `GET /api/v2/events` stream carries a `: ping` (default 25 s; tests shorten it). */
  eventsPingMs?: number;
}

/**
 * The HTTP surface, on Fastify: `/trpc` (typed, for the extension), `/api/v2` (REST from the same
 * procedures, rest-routes.ts; its event stream, events-route.ts), `/api/openapi.json`, `/docs`, `/invite`, `/healthz`, `/readyz`. Every failure,
 * whichever layer finds it, leaves as the documented envelope (http-errors.ts; tRPC keeps its own
 * shape, with our code in `data.code`). Not listening yet: `listen` or `inject` it.
 */
export function createHttpServer(options: ServerOptions): HttpServer {
  const { deps } = options;
  const app = fastify({
    loggerInstance: deps.logger,
    logController: new RequestLog(),
    genReqId: requestIdOf,
    bodyLimit: MAX_BODY_BYTES,
    // Bounded request time: a slow client cannot hold a connection (and its memory) for long. Node
    // checks the two timeouts only every connectionsCheckingInterval (default 30 s: held on for 40 s).
    http: { connectionsCheckingInterval: 1_000, headersTimeout: 10_000 },
    requestTimeout: 30_000,
    keepAliveTimeout: 5_000,
    // Requests on open connections while shutting down are served (main.ts bounds the wait), not 503.
    return503OnClosing: false,
    exposeHeadRoutes: false,
    // Path parameters are judged by the procedure's schema (400), not cut at Fastify's 100 characters.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 16 * 1024 },
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: answerClientError,
  });

  registerRequestContext(app, { countQueries: options.countQueries ?? false });
  registerErrorHandlers(app);
  void app.register(cors, {
    // Only the configured web origins; any other gets no CORS headers (and its preflight a 404).
    origin: (origin, callback) =>
      callback(null, origin !== undefined && deps.allowedOrigins.includes(origin)),
    credentials: true,
    methods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
    allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'x-request-id'],
    exposedHeaders: ['retry-after', 'x-request-id'],
    maxAge: 600,
    strictPreflight: false,
  });
  registerJsonBodyParser(app);

  app.get('/healthz', () => ({ status: 'ok' }));
  app.get('/readyz', async () => {
    try {
      await withTimeout(options.ping(), 2000);
    } catch (error) {
      throw new ApiError('service_unavailable', 'The database is not reachable.', { cause: error });
    }
    return { status: 'ok', database: 'up' };
  });
  registerDocs(app, options.publicUrl);
  registerInvitePage(app);

  // tRPC's Fastify adapter on our route rather than through fastifyTRPCPlugin: the plugin's only other
  // work is to swap the JSON parser for a lenient pass-through, which would skip body-guard.ts.
  app.all<{ Params: { '*': string } }>('/trpc/*', (request, reply) =>
    fastifyRequestHandler({
      router: appRouter,
      req: request,
      res: reply,
      path: request.params['*'],
      createContext: () => contextOf(deps, request),
      responseMeta: ({ errors }) => {
        const [first] = errors;
        if (first === undefined) return {};
        const error = toApiError(first);
        return { status: error.httpStatus, headers: errorHeaders(error) };
      },
      onError: ({ error, path }) => logFailure(request.log, toApiError(error), path),
    }),
  );
  registerRestRoutes(app, deps);
  registerEventsRoute(app, deps, options.eventsPingMs);
  return app;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}
