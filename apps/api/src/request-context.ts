import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { withQueryCount, type QueryCount } from '@fannotes/db';
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import { createContext, type AppDeps, type Context } from './context.ts';
import { ApiError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { HttpServer } from './server.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,100}$/;

/** Fastify's `genReqId`: the caller's `x-request-id` when it is a plain token (a trace to follow), else a UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/**
 * Fastify's per-request log lines, as the API writes them: one `request` line per answer (method,
 * path, status, ms), on the request's child logger, which carries `requestId`.
 */
export class RequestLog extends LogController {
  constructor() {
    super({ requestIdLogLabel: 'requestId' });
  }

  override incomingRequest(): void {}

  override requestCompleted(_error: unknown, request: FastifyRequest, reply: FastifyReply): void {
    // Not built at all below `info` (LOG_LEVEL=warn): a line per request is a cost per request.
    // (request.log is a child of the API's pino logger, server.ts.)
    if (!(request.log as Logger).isLevelEnabled('info')) return;
    request.log.info(
      {
        method: request.method,
        path: request.url.split('?')[0],
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 1000) / 1000,
      },
      'request',
    );
  }
}

/**
 * Headers that must come once. Node keeps the first of a repeated Authorization or Content-Type and
 * drops the rest, so a request carrying two credentials was served as the first one's user; such a
 * request is refused instead of guessed at. (Idempotency-Key sent twice is joined by Node and then
 * refused by its own check; Cookie may legitimately come in several lines.)
 */
const SINGLE_VALUE_HEADERS = ['authorization', 'content-type'] as const;

type SingleValueHeader = (typeof SINGLE_VALUE_HEADERS)[number];
const singleValueLengths = new Set(SINGLE_VALUE_HEADERS.map((name) => name.length));

/**
 * The first of SINGLE_VALUE_HEADERS the request carries more than once, read off its raw header lines
 * (name, value, name, value...). `headersDistinct` answers the same, but builds an object of every
 * header, on every request, to do so.
 */
function repeatedHeader(raw: readonly string[]): SingleValueHeader | undefined {
  const seen: string[] = [];
  for (let index = 0; index < raw.length; index += 2) {
    const name = raw[index]!;
    // A length check first spares lowercasing every other header.
    if (!singleValueLengths.has(name.length)) continue;
    const lower = name.toLowerCase() as SingleValueHeader;
    if (!SINGLE_VALUE_HEADERS.includes(lower)) continue;
    if (seen.includes(lower)) return lower;
    seen.push(lower);
  }
  return undefined;
}

const queryCounts = new WeakMap<FastifyRequest, QueryCount>();

/**
 * What every request gets before routing matters: its id in `x-request-id`, the refusal of repeated
 * single-value headers, and with `countQueries` (DB_QUERY_COUNT, benchmarks) its database statements
 * and round trips in `x-db-statements` / `x-db-round-trips`, and in `x-db-prepares` how many of those
 * round trips prepared a statement at its first use on a connection.
 */
export function registerRequestContext(app: HttpServer, options: { countQueries: boolean }): void {
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    const repeated = repeatedHeader(request.raw.rawHeaders);
    if (!repeated) return done();
    done(
      new ApiError('validation_error', `The ${repeated} header was sent more than once.`, {
        details: { header: repeated },
      }),
    );
  });
  if (!options.countQueries) return;
  // The handler runs inside the count (it is called from the last preHandler's `done`); an answer
  // is sent once its database work is done, so the count is complete when the headers are set.
  app.addHook('preHandler', (request, _reply, done) => {
    const count: QueryCount = { statements: 0, roundTrips: 0, prepares: 0 };
    queryCounts.set(request, count);
    withQueryCount(count, done);
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    const count = queryCounts.get(request);
    void reply.header('x-db-statements', String(count?.statements ?? 0));
    void reply.header('x-db-round-trips', String(count?.roundTrips ?? 0));
    void reply.header('x-db-prepares', String(count?.prepares ?? 0));
    done(null, payload);
  });
}

/** The procedures' context for a request (both surfaces): its id and the headers auth reads. */
export function contextOf(
  deps: AppDeps,
  request: Pick<FastifyRequest, 'id' | 'headers' | 'protocol' | 'host'>,
): Context {
  const { headers } = request;
  return createContext(deps, request.id, {
    authorization: headers.authorization,
    cookie: headers.cookie,
    origin: headers.origin,
    idempotencyKey: headerValue(headers['idempotency-key']),
    serverOrigin: originOf(request.protocol, request.host),
  });
}

/** The origin a request names in its Host header, when that is a plain host[:port]; else undefined. */
function originOf(protocol: string, host: string | undefined): string | undefined {
  if (!host || !/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host)) return undefined;
  return `${protocol}://${host}`;
}

/**
 * A header as one string: sent more than once, its values joined with ", " as Node joins most headers
 * (a key containing ", " is then refused, not guessed at).
 */
function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}
