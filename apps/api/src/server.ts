import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorEnvelope } from '@fannotes/contract';
import { withQueryCount, type QueryCount } from '@fannotes/db';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import { nodeHTTPRequestHandler } from '@trpc/server/adapters/node-http';
import { createOpenApiNodeHttpHandler, type OpenApiMeta } from 'trpc-to-openapi';
import { createContext, type AppDeps, type Context } from './context.ts';
import { ApiError, errorEnvelope, errorHeaders, toApiError } from './errors.ts';
import { serveDocs } from './docs-page.ts';
import { createOpenApiDocument } from './openapi.ts';
import { MAX_BODY_BYTES, readJsonBody } from './request-body.ts';
import { appRouter, createCaller } from './root.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,100}$/;
/**
 * Headers that must come once. Node keeps the first of a repeated Authorization or Content-Type and
 * drops the rest, so a request carrying two credentials was served as the first one's user; such a
 * request is refused instead of guessed at. (Idempotency-Key sent twice is joined by Node and then
 * refused by its own check; Cookie may legitimately come in several lines.)
 */
const SINGLE_VALUE_HEADERS = ['authorization', 'content-type'] as const;
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

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
}

interface RequestState {
  requestId: string;
  ctx: Context;
  /** The error a REST response is about, recorded when the adapter reports it. */
  failure?: ApiError;
}

/**
 * The HTTP surface: `/trpc` (typed, for the extension), `/api/v2` (REST from the same procedures),
 * `/api/openapi.json`, `/docs`, `/healthz`, `/readyz`. Every failure, whichever layer finds it,
 * leaves as the documented envelope (tRPC keeps its own shape, with our code in `data.code`).
 */
export function createRequestHandler(options: ServerOptions) {
  const { deps } = options;
  const states = new WeakMap<IncomingMessage, RequestState>();
  let openApiJson: string | undefined;

  const responseMeta = ({ errors }: { errors: readonly unknown[] }) => {
    const [first] = errors;
    if (first === undefined) return {};
    const error = toApiError(first);
    return { status: error.httpStatus, headers: errorHeaders(error) };
  };

  const logError = (state: RequestState | undefined, error: ApiError, path: string | undefined) => {
    const log = state?.ctx.log ?? deps.logger;
    if (error.apiCode === 'internal_error') log.error({ err: error.cause ?? error, path }, 'request failed');
    else if (error.apiCode === 'service_unavailable')
      log.warn({ err: error.cause ?? error, path }, 'unavailable');
    else log.debug({ code: error.apiCode, path }, error.message);
  };

  keepInputTypesStrict(appRouter);
  const bodyRoutes = directBodyRoutes(appRouter);
  const restHandler = createOpenApiNodeHttpHandler({
    router: appRouter,
    createContext: ({ req }) => states.get(req)!.ctx,
    responseMeta,
    maxBodySize: MAX_BODY_BYTES,
    onError: ({ error, req, path }) => {
      const state = states.get(req);
      const failure = toApiError(error);
      if (state) state.failure = failure;
      logError(state, failure, path);
    },
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const incomingId = req.headers['x-request-id'];
    const requestId =
      typeof incomingId === 'string' && REQUEST_ID.test(incomingId) ? incomingId : randomUUID();
    const ctx = createContext(deps, requestId, {
      authorization: req.headers.authorization,
      cookie: req.headers.cookie,
      origin: req.headers.origin,
      idempotencyKey: headerValue(req.headers['idempotency-key']),
    });
    const state: RequestState = { requestId, ctx };
    states.set(req, state);
    res.setHeader('x-request-id', requestId);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      ctx.log.info(
        {
          method: req.method,
          path: (req.url ?? '').split('?')[0],
          status: res.statusCode,
          ms: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
        },
        'request',
      );
    });

    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const repeated = SINGLE_VALUE_HEADERS.find((name) => (req.headersDistinct[name]?.length ?? 0) > 1);
    if (repeated) {
      const failure = new ApiError('validation_error', `The ${repeated} header was sent more than once.`, {
        details: { header: repeated },
      });
      return path.startsWith('/trpc/') ? sendTrpcError(res, failure, state) : sendError(res, failure, state);
    }
    if (applyCors(req, res, deps.allowedOrigins) && method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }

    if (method === 'GET' && path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (method === 'GET' && path === '/readyz') {
      try {
        await withTimeout(options.ping(), 2000);
        return sendJson(res, 200, { status: 'ok', database: 'up' });
      } catch (error) {
        return sendError(
          res,
          new ApiError('service_unavailable', 'The database is not reachable.', { cause: error }),
          state,
        );
      }
    }
    if (method === 'GET' && path === '/api/openapi.json') {
      // From configuration only: a document built from the first request's Host was cached for all.
      openApiJson ??= JSON.stringify(createOpenApiDocument(`${options.publicUrl ?? ''}/api`));
      res.writeHead(200, { 'content-type': 'application/json' }).end(openApiJson);
      return;
    }
    if (method === 'GET' && (path === '/docs' || path.startsWith('/docs/')))
      return serveDocs(path, res, () =>
        sendError(res, new ApiError('resource_not_found', 'No such endpoint.'), state),
      );

    const isTrpc = path.startsWith('/trpc/');
    const isRest = path.startsWith('/api/');
    if (!isTrpc && !isRest)
      return sendError(res, new ApiError('resource_not_found', 'No such endpoint.'), state);

    if (isRest) {
      const query = queryParameters(url);
      if (!query) {
        return sendError(
          res,
          new ApiError('validation_error', 'Invalid request: unknown field(s): __proto__'),
          state,
        );
      }
      (req as IncomingMessage & { query?: unknown }).query = query;
    }

    if (BODY_METHODS.has(method)) {
      try {
        const body = await readJsonBody(req, isRest);
        // The REST adapter reads a DELETE's input from its path and query only: a body would be
        // ignored, so `{"bogus": 1}` removed a member instead of being refused as an unknown field.
        if (isRest && method === 'DELETE' && Object.keys(body as object).length > 0) {
          throw new ApiError(
            'validation_error',
            'This endpoint takes no request body: its parameters are in the path.',
          );
        }
        (req as IncomingMessage & { body?: unknown }).body = body;
      } catch (error) {
        const failure = toApiError(error);
        logError(state, failure, path);
        if (isTrpc) return sendTrpcError(res, failure, state);
        return sendError(res, failure, state);
      }
    }

    if (isTrpc) {
      await nodeHTTPRequestHandler({
        router: appRouter,
        req,
        res,
        path: path.slice('/trpc/'.length),
        createContext: () => ctx,
        responseMeta,
        maxBodySize: MAX_BODY_BYTES,
        onError: ({ error, path: procedure }) => logError(state, toApiError(error), procedure),
      });
      return;
    }

    const direct = isRest && method === 'POST' ? bodyRoutes.get(path) : undefined;
    if (direct) {
      try {
        return sendJson(res, 200, await direct(createCaller(ctx), (req as { body?: unknown }).body));
      } catch (error) {
        const failure = toApiError(error);
        logError(state, failure, path);
        return sendError(res, failure, state);
      }
    }

    // REST: the adapter writes its own error bodies; the envelope replaces them where they are written.
    const end = res.end.bind(res) as (body?: string) => ServerResponse;
    res.end = ((...args: unknown[]) => {
      if (state.failure) {
        const body = JSON.stringify(errorEnvelope(state.failure, requestId));
        res.setHeader('content-type', 'application/json');
        return end(body);
      }
      return (end as (...a: unknown[]) => ServerResponse)(...args);
    }) as typeof res.end;
    req.url = `${path.slice('/api'.length)}${url.search}`;
    await restHandler(req, res);
  }

  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((error: unknown) => {
      const failure = toApiError(error);
      logError(states.get(req), failure, req.url);
      if (!res.headersSent) sendError(res, failure, states.get(req));
      else res.destroy();
    });
  };
  if (!options.countQueries) return serve;
  return (req: IncomingMessage, res: ServerResponse): void => {
    const count: QueryCount = { statements: 0, roundTrips: 0 };
    // Every response is written through writeHead (res.end without it calls it too): the count is
    // complete by then, since a handler answers only once its database work is done.
    const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
    res.writeHead = (...args: unknown[]) => {
      res.setHeader('x-db-statements', String(count.statements));
      res.setHeader('x-db-round-trips', String(count.roundTrips));
      return writeHead(...args);
    };
    withQueryCount(count, () => serve(req, res));
  };
}

type Caller = ReturnType<typeof createCaller>;
type DirectRoute = (caller: Caller, input: unknown) => Promise<unknown>;

/**
 * The REST routes whose whole input is the JSON body (POST, no path parameters: the sync and the note
 * writes), by path, each calling its procedure directly with the body already read and checked here.
 * For these, trpc-to-openapi would only rebuild every request as a Fetch `Request` with an abort signal
 * of its own before making the same call: a tenth of the API's CPU per sync in the benchmark's profile
 * (docs/PERFORMANCE.md). Same procedure, middlewares and validation; the same envelope either way.
 */
function directBodyRoutes(router: typeof appRouter): Map<string, DirectRoute> {
  const routes = new Map<string, DirectRoute>();
  for (const [name, procedure] of Object.entries(router._def.procedures as Record<string, unknown>)) {
    const openapi = (procedure as { _def?: { meta?: OpenApiMeta } })._def?.meta?.openapi;
    if (openapi?.method !== 'POST' || openapi.path.includes('{')) continue;
    const keys = name.split('.');
    routes.set(`/api${openapi.path}`, (caller, input) => {
      let target: unknown = caller;
      for (const key of keys) target = (target as Record<string, unknown>)[key];
      return (target as (input: unknown) => Promise<unknown>)(input);
    });
  }
  return routes;
}

// Where a zod 4 definition keeps the schemas it is made of.
const SCHEMA_CHILDREN = ['shape', 'innerType', 'in', 'out', 'element', 'options', 'left', 'right', 'items'];

/**
 * trpc-to-openapi turns on zod's `coerce` for the number and boolean fields of a procedure's input on
 * every REST call (meant for query strings, applied to JSON bodies too), and the schemas are shared
 * with tRPC: `"isPinned": "false"` would pin a note and `"baseVersion": null` would read as 0, on both
 * surfaces. Bodies are JSON and no GET input has such a field, so types must match exactly: the
 * adapter's writes to `coerce` are ignored. Schemas declared with `z.coerce` keep it.
 */
function keepInputTypesStrict(router: typeof appRouter): void {
  const seen = new Set<object>();
  const visit = (value: unknown): void => {
    if (typeof value !== 'object' || value === null || seen.has(value)) return;
    seen.add(value);
    if (Array.isArray(value)) return value.forEach(visit);
    const def = (value as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
    if (!def) return Object.values(value).forEach(visit);
    if (['number', 'boolean', 'bigint', 'date'].includes(def.type as string) && def.coerce !== true) {
      Object.defineProperty(def, 'coerce', { get: () => false, set: () => {}, configurable: true });
    }
    for (const key of SCHEMA_CHILDREN) visit(def[key]);
  };
  const procedures: Record<string, unknown> = router._def.procedures;
  for (const procedure of Object.values(procedures)) {
    visit((procedure as { _def?: { inputs?: unknown } })._def?.inputs);
  }
}

/**
 * A header as one string: sent more than once, its values joined with ", " as Node joins most headers
 * (a key containing ", " is then refused, not guessed at).
 */
function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(text);
}

function sendError(res: ServerResponse, error: ApiError, state: RequestState | undefined): void {
  sendJson(res, error.httpStatus, errorEnvelope(error, state?.requestId), errorHeaders(error));
}

/** A failure found before tRPC ran, in tRPC's own error shape so its client can read it. */
function sendTrpcError(res: ServerResponse, error: ApiError, state: RequestState): void {
  const body = {
    error: {
      message: error.message,
      code: TRPC_ERROR_CODES_BY_KEY[error.code],
      data: { code: error.apiCode, httpStatus: error.httpStatus, requestId: state.requestId },
    },
  };
  sendJson(res, error.httpStatus, body, errorHeaders(error));
}

/**
 * The query string as trpc-to-openapi wants it (`req.query`: name -> values), without a prototype. Its
 * own parser used `{}`, where `?constructor=1` or `?toString=1` found Object.prototype's methods and
 * threw (500). `__proto__` cannot survive the adapter's later copy into a plain object: null, refused.
 */
function queryParameters(url: URL): Record<string, string[]> | null {
  const query = Object.create(null) as Record<string, string[]>;
  for (const [name, value] of url.searchParams) {
    if (name === '__proto__') return null;
    (query[name] ??= []).push(value);
  }
  return query;
}

const CLIENT_ERRORS: Record<string, { status: number; message: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, message: 'The request line and headers are larger than 16 KiB.' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, message: 'The request took too long to arrive.' },
};

/**
 * Node's HTTP parser refuses some requests before any handler runs (malformed, headers too large,
 * too slow): by default with a bare status line and no body. They get the envelope too (no request id:
 * there was no request), unless a response has already started on the connection.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  const started = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
  if (!socket.writable || started) {
    socket.destroy();
    return;
  }
  const known = error.code ? CLIENT_ERRORS[error.code] : undefined;
  const status = known?.status ?? 400;
  const body = JSON.stringify({
    status: 'error',
    error: { code: 'validation_error', message: known?.message ?? 'The request is not valid HTTP.' },
  } satisfies ErrorEnvelope);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  // The client may still be sending (a 1 MB URL): closing with bytes unread makes the kernel answer
  // with a reset, which can destroy the answer before the client reads it. So the rest is read and
  // dropped until the client closes, for a second at most.
  socket.resume();
  setTimeout(() => socket.destroy(), 1_000).unref();
}

/** CORS for the configured web origins only; returns whether the request came from one of them. */
function applyCors(req: IncomingMessage, res: ServerResponse, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (!origin || !allowed.includes(origin)) return false;
  res.setHeader('access-control-allow-origin', origin);
  res.setHeader('access-control-allow-credentials', 'true');
  res.setHeader('access-control-allow-methods', 'GET, POST, DELETE, OPTIONS');
  res.setHeader('access-control-allow-headers', 'authorization, content-type, idempotency-key, x-request-id');
  res.setHeader('access-control-expose-headers', 'retry-after, x-request-id');
  res.setHeader('access-control-max-age', '600');
  res.setHeader('vary', 'Origin');
  return true;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}
