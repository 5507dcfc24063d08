import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ErrorEnvelope } from '@fannotes/contract';
import { TRPCError } from '@trpc/server';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { bodyTooLarge } from './body-guard.ts';
import { ApiError, bodyNotJson, errorEnvelope, errorHeaders, toApiError } from './errors.ts';
import { lingerThenClose } from './lingering-close.ts';
import type { Logger } from './logger.ts';
import type { HttpServer } from './server.ts';

/**
 * Every failure the HTTP edge meets outside a procedure (Fastify's refusals, hooks, unknown routes) and
 * every REST procedure failure leaves through here, as the documented envelope; under `/trpc/` in
 * tRPC's error shape instead, so its client can read it. (tRPC answers its own procedures' failures
 * through the error formatter in trpc.ts.) The codes and statuses come from errors.ts.
 */
export function registerErrorHandlers(app: HttpServer): void {
  app.addHook('onRequest', (request, reply, done) => {
    responses.set(request.raw.socket, reply.raw);
    done();
  });
  app.setErrorHandler((error, request, reply) => fail(request, reply, error));
  app.setNotFoundHandler((request, reply) =>
    sendFailure(request, reply, new ApiError('resource_not_found', 'No such endpoint.')),
  );
}

/** Fastify's `frameworkErrors`: a URL its router cannot decode, a path parameter too long. */
export function answerFrameworkError(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  void fail(request, reply, error);
}

function fail(request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply {
  const failure = apiErrorOf(error);
  // Fastify's request logger is a child of our pino logger (server.ts, `loggerInstance`).
  logFailure(request.log as Logger, failure, request.url.split('?')[0]);
  return sendFailure(request, reply, failure);
}

/** Refusals Fastify makes itself (codes `FST_ERR_*`, or a 4xx status it gave a stream error), in our codes. */
function apiErrorOf(error: unknown): ApiError {
  if (error instanceof TRPCError) return toApiError(error);
  switch ((error as { code?: unknown }).code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return bodyTooLarge();
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return bodyNotJson();
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError('validation_error', 'The request body is not as long as its Content-Length says.');
    case 'FST_ERR_BAD_URL':
      return new ApiError('validation_error', 'The URL is not valid (malformed percent-encoding).');
    default:
      break;
  }
  const status = (error as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new ApiError('validation_error', 'Invalid request.');
  }
  return toApiError(error);
}

export function logFailure(log: Logger, error: ApiError, path: string | undefined): void {
  if (error.apiCode === 'internal_error') log.error({ err: error.cause ?? error, path }, 'request failed');
  else if (error.apiCode === 'service_unavailable')
    log.warn({ err: error.cause ?? error, path }, 'unavailable');
  else log.debug({ code: error.apiCode, path }, error.message);
}

function sendFailure(request: FastifyRequest, reply: FastifyReply, error: ApiError): FastifyReply {
  const body = request.url.startsWith('/trpc/')
    ? trpcErrorShape(error, request.id)
    : errorEnvelope(error, request.id);
  return reply
    .code(error.httpStatus)
    .headers({ 'x-request-id': request.id, ...errorHeaders(error) })
    .type('application/json')
    .send(JSON.stringify(body));
}

/** A failure found before tRPC ran, in tRPC's own error shape (as trpc.ts's formatter writes it). */
function trpcErrorShape(error: ApiError, requestId: string) {
  return {
    error: {
      message: error.message,
      code: TRPC_ERROR_CODES_BY_KEY[error.code],
      data: { code: error.apiCode, httpStatus: error.httpStatus, requestId },
    },
  };
}

/** Each connection's latest response: a client error on it must not write into one already started. */
const responses = new WeakMap<Socket, ServerResponse>();

const CLIENT_ERRORS: Record<string, { status: number; message: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, message: 'The request line and headers are larger than 16 KiB.' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, message: 'The request took too long to arrive.' },
};

/** Connections answered by `answerClientError`, lingering until their client stops sending. */
const lingering = new WeakSet<Socket>();

/**
 * Fastify's `clientErrorHandler`: Node's HTTP parser refuses some requests before any handler runs
 * (malformed, headers too large, too slow). They get the envelope too (no request id: there was no
 * request), unless a response has already started on the connection.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  // The parser stays on the socket: each chunk the client still sends after the refusal fails again
  // and lands here. Destroying the socket then (it is no longer writable) reset it under a client
  // still writing its 1 MB URL, which met EPIPE instead of reading the 431.
  if (error.code === 'ECONNRESET' || socket.destroyed || lingering.has(socket)) return;
  const response = responses.get(socket);
  if (!socket.writable || (response?.headersSent && !response.writableEnded)) {
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
  lingering.add(socket);
  lingerThenClose(socket);
}
