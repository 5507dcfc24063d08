import { errorCodes, type ErrorCode } from '@fannotes/contract';
import { errorTable } from '../../src/errors.ts';
import { Tally } from './figures.ts';

export type Surface = 'rest' | 'trpc';

export interface Reply {
  surface: Surface;
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
  /** Wall time from sending to the whole body read. */
  ms: number;
}

/** Every reply this test file received, by status: the 5xx figures come from here. */
export const statuses = new Tally();

export interface SendOptions {
  token?: string | null;
  headers?: Record<string, string>;
  /** A JSON value (serialised here) or the raw body (sent as it is). */
  body?: { json: unknown } | { raw: string | Uint8Array };
  contentType?: string | null;
  signal?: AbortSignal;
}

/** One HTTP request to 127.0.0.1; a network failure is thrown (the caller decides what it means). */
export async function send(
  base: string,
  method: string,
  path: string,
  options: SendOptions = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | Uint8Array | undefined;
  if (options.body && 'json' in options.body) body = JSON.stringify(options.body.json);
  else if (options.body) body = options.body.raw;
  if (body !== undefined && options.contentType !== null)
    headers['content-type'] = options.contentType ?? 'application/json';
  const started = performance.now();
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const text = await response.text();
  const ms = performance.now() - started;
  statuses.add(response.status);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return {
    surface: path.startsWith('/trpc/') ? 'trpc' : 'rest',
    status: response.status,
    headers: response.headers,
    text,
    json,
    ms,
  };
}

/** A tRPC call as @trpc/client makes it: queries GET with `?input=`, mutations POST with a JSON body. */
export function trpcCall(
  base: string,
  procedure: string,
  kind: 'query' | 'mutation',
  input: unknown,
  options: Omit<SendOptions, 'body'> & { rawBody?: string | Uint8Array; rawQuery?: string } = {},
): Promise<Reply> {
  if (kind === 'query') {
    const query =
      options.rawQuery ?? (input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`);
    return send(base, 'GET', `/trpc/${procedure}${query}`, options);
  }
  const body =
    options.rawBody !== undefined
      ? { raw: options.rawBody }
      : input === undefined
        ? undefined
        : { json: input };
  return send(base, 'POST', `/trpc/${procedure}`, { ...options, ...(body ? { body } : {}) });
}

/** What a reply said: `success`, or the error code. */
export interface Outcome {
  status: number;
  code: 'success' | ErrorCode;
  message?: string;
}

// The statuses a code may take besides its own: validation_error for a body too large (413), not
// JSON (415), a request Node's HTTP parser refused as too slow (408) or with too large headers (431).
const VALIDATION_VARIANTS = new Set([400, 408, 413, 415, 431]);
const WITH_RETRY_AFTER = new Set<ErrorCode>([
  'sync_in_progress',
  'rate_limit_exceeded',
  'service_unavailable',
]);

class EnvelopeError extends Error {
  constructor(problem: string, reply: Reply) {
    super(`${problem}: ${reply.surface} ${reply.status} ${reply.text.slice(0, 400)}`);
  }
}

/**
 * Checks a reply against the documented shapes and returns what it said. Throws when the reply is
 * not the envelope: a success without `{ status: "success", data }`, an error whose code and status
 * disagree with the error table, a request id that differs from its header, Retry-After or
 * WWW-Authenticate missing where the table says, or anything that looks like a stack or a path.
 */
export function outcomeOf(reply: Reply): Outcome {
  if (!/^application\/json/.test(reply.headers.get('content-type') ?? '')) {
    throw new EnvelopeError('not JSON', reply);
  }
  if (/\bat .+\(.+:\d+:\d+\)|node_modules|\/work\/|"stack"/.test(reply.text)) {
    throw new EnvelopeError('internals in the body', reply);
  }
  if (typeof reply.json !== 'object' || reply.json === null) throw new EnvelopeError('no JSON object', reply);
  const requestId = reply.headers.get('x-request-id');

  // Node's own refusals (before any request exists) carry the REST envelope on both surfaces.
  if (reply.surface === 'trpc' && requestId !== null) {
    const json = reply.json as TrpcBody;
    if (reply.status === 200) {
      if (json.result?.data?.status !== 'success' || !('data' in json.result.data)) {
        throw new EnvelopeError('tRPC success without the envelope', reply);
      }
      return { status: 200, code: 'success' };
    }
    const data = json.error?.data;
    if (!data || typeof json.error?.message !== 'string' || typeof json.error.code !== 'number') {
      throw new EnvelopeError('tRPC error without its shape', reply);
    }
    return checkError(reply, data.code, data.httpStatus, data.requestId, json.error.message);
  }

  const json = reply.json as RestBody;
  if (reply.status === 200) {
    if (json.status !== 'success' || !('data' in json))
      throw new EnvelopeError('success without the envelope', reply);
    return { status: 200, code: 'success' };
  }
  const keys = Object.keys(json).sort().join(',');
  if (keys !== 'error,status' || json.status !== 'error' || typeof json.error?.message !== 'string') {
    throw new EnvelopeError('error without the envelope', reply);
  }
  return checkError(reply, json.error.code, reply.status, json.error.details?.requestId, json.error.message);
}

/** The shapes replies are checked against (fields unknown until checked). */
interface RestBody {
  status?: unknown;
  data?: unknown;
  error?: { code?: unknown; message?: unknown; details?: { requestId?: unknown } };
}

interface TrpcBody {
  result?: { data?: { status?: unknown; data?: unknown } };
  error?: {
    message?: unknown;
    code?: unknown;
    data?: { code?: unknown; httpStatus?: unknown; requestId?: unknown };
  };
}

function checkError(
  reply: Reply,
  code: unknown,
  httpStatus: unknown,
  requestId: unknown,
  message: string,
): Outcome {
  if (!errorCodes.includes(code as ErrorCode)) throw new EnvelopeError(`unknown code ${String(code)}`, reply);
  const errorCode = code as ErrorCode;
  if (httpStatus !== reply.status) throw new EnvelopeError('body status differs from the HTTP status', reply);
  const expected = errorTable[errorCode].status;
  const allowed =
    errorCode === 'validation_error' ? VALIDATION_VARIANTS.has(reply.status) : reply.status === expected;
  if (!allowed) throw new EnvelopeError(`${errorCode} with status ${reply.status}`, reply);
  const header = reply.headers.get('x-request-id');
  if (header !== null && requestId !== header)
    throw new EnvelopeError('request id differs from its header', reply);
  const retryAfter = reply.headers.get('retry-after');
  if (WITH_RETRY_AFTER.has(errorCode) && !/^[1-9][0-9]*$/.test(retryAfter ?? '')) {
    throw new EnvelopeError('no Retry-After', reply);
  }
  if (
    errorCode === 'authentication_required' &&
    !/^Bearer /.test(reply.headers.get('www-authenticate') ?? '')
  ) {
    throw new EnvelopeError('401 without WWW-Authenticate', reply);
  }
  if (message.length === 0 || message.includes('\n')) throw new EnvelopeError('unreadable message', reply);
  return { status: reply.status, code: errorCode, message };
}

/** The `data` of a success reply on either surface (the caller asserted success). */
export function dataOf<T>(reply: Reply): T {
  if (reply.status !== 200) throw new Error(`expected 200, got ${reply.status}: ${reply.text.slice(0, 300)}`);
  if (reply.surface === 'trpc') return (reply.json as TrpcBody).result?.data?.data as T;
  return (reply.json as RestBody).data as T;
}
