import { TRPCError } from '@trpc/server';
import type { ErrorCode, ErrorEnvelope } from '@fannotes/contract';

type TRPCCode = TRPCError['code'];

/**
 * The one table of error codes: each code's HTTP status (REST and tRPC alike), the tRPC code that
 * makes tRPC answer with that status, and whether the answer carries `Retry-After`.
 */
export const errorTable = {
  validation_error: { status: 400, trpc: 'BAD_REQUEST', retryAfter: false },
  authentication_required: { status: 401, trpc: 'UNAUTHORIZED', retryAfter: false },
  permission_denied: { status: 403, trpc: 'FORBIDDEN', retryAfter: false },
  resource_not_found: { status: 404, trpc: 'NOT_FOUND', retryAfter: false },
  sync_in_progress: { status: 409, trpc: 'CONFLICT', retryAfter: true },
  rate_limit_exceeded: { status: 429, trpc: 'TOO_MANY_REQUESTS', retryAfter: true },
  service_unavailable: { status: 503, trpc: 'SERVICE_UNAVAILABLE', retryAfter: true },
  internal_error: { status: 500, trpc: 'INTERNAL_SERVER_ERROR', retryAfter: false },
} as const satisfies Record<ErrorCode, { status: number; trpc: TRPCCode; retryAfter: boolean }>;

/** Statuses a code may take instead of its usual one (a validation error about the body's size or type). */
const variantStatus = { 413: 'PAYLOAD_TOO_LARGE', 415: 'UNSUPPORTED_MEDIA_TYPE' } as const satisfies Record<
  number,
  TRPCCode
>;

export interface ApiErrorOptions {
  details?: Record<string, unknown>;
  /** Seconds until a retry may succeed; sent as `Retry-After` (codes whose table row says so). */
  retryAfterSeconds?: number;
  /** Only for validation_error: 413 (body too large) or 415 (not JSON). */
  status?: keyof typeof variantStatus;
  cause?: unknown;
}

/**
 * A failure the caller should hear about. It is a TRPCError, so tRPC answers with the table's status;
 * the REST surface and the error formatter read `apiCode`, `details` and `retryAfterSeconds` from it.
 */
export class ApiError extends TRPCError {
  readonly apiCode: ErrorCode;
  readonly httpStatus: number;
  readonly details: Record<string, unknown> | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options: ApiErrorOptions = {}) {
    const row = errorTable[code];
    super({
      code: options.status ? variantStatus[options.status] : row.trpc,
      message,
      cause: options.cause,
    });
    this.name = 'ApiError';
    this.apiCode = code;
    this.httpStatus = options.status ?? row.status;
    this.details = options.details;
    this.retryAfterSeconds = row.retryAfter
      ? Math.max(1, Math.ceil(options.retryAfterSeconds ?? 1))
      : undefined;
  }
}

/** The headers an error response carries besides its body. */
export function errorHeaders(error: ApiError): Record<string, string> {
  const headers: Record<string, string> = {};
  if (error.retryAfterSeconds !== undefined) headers['retry-after'] = String(error.retryAfterSeconds);
  if (error.apiCode === 'authentication_required') {
    headers['www-authenticate'] = 'Bearer realm="fannotes", error="invalid_token"';
  }
  return headers;
}

export function errorEnvelope(error: ApiError, requestId: string | undefined): ErrorEnvelope {
  const details = { ...error.details, ...(requestId ? { requestId } : {}) };
  return {
    status: 'error',
    error: {
      code: error.apiCode,
      message: error.message,
      ...(Object.keys(details).length ? { details } : {}),
    },
  };
}

// SQLSTATE classes and driver codes that mean "the database cannot serve us right now", not "a bug".
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '57014',
  '55P03',
  '53300',
  '53400',
  '40001',
  '40P01',
]);
const UNAVAILABLE_DRIVER_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);

function isDatabaseUnavailable(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (UNAVAILABLE_DRIVER_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08')) {
        return true;
      }
    }
    cause = cause.cause;
  }
  return false;
}

interface ZodLikeIssue {
  path: PropertyKey[];
  message: string;
}

function zodIssues(error: unknown): ZodLikeIssue[] | undefined {
  if (error instanceof Error && error.name === 'ZodError') {
    return (error as unknown as { issues: ZodLikeIssue[] }).issues;
  }
  return undefined;
}

/** Describes invalid input by field, e.g. `fanId: must be an OnlyFans user id (decimal digits)`. */
function describeIssues(issues: ZodLikeIssue[]): { message: string; details: Record<string, unknown> } {
  const fields = issues.slice(0, 20).map((issue) => ({
    path: issue.path.map(String).join('.') || '(body)',
    message: unknownKeysMessage(issue) ?? issue.message,
  }));
  const first = fields[0];
  return {
    message: first ? `Invalid request: ${first.path}: ${first.message}` : 'Invalid request.',
    details: { issues: fields },
  };
}

function unknownKeysMessage(issue: ZodLikeIssue): string | undefined {
  const keys = (issue as { keys?: unknown }).keys;
  return Array.isArray(keys) ? `unknown field(s): ${keys.map(String).join(', ')}` : undefined;
}

/**
 * Turns anything thrown while serving a request into the ApiError the caller sees. The one place
 * where tRPC's own codes, input validation, database outages and bugs become our error codes.
 */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof TRPCError) {
    if (error.cause instanceof ApiError) return error.cause;
    const issues = zodIssues(error.cause);
    if (issues) {
      const { message, details } = describeIssues(issues);
      return new ApiError('validation_error', message, { details });
    }
    switch (error.code) {
      case 'PARSE_ERROR':
        return new ApiError('validation_error', 'The request body is not valid JSON.');
      case 'BAD_REQUEST':
        return new ApiError('validation_error', safeMessage(error.message, 'Invalid request.'));
      case 'PAYLOAD_TOO_LARGE':
        return new ApiError('validation_error', 'The request body is too large.', { status: 413 });
      case 'UNSUPPORTED_MEDIA_TYPE':
        return bodyNotJson();
      case 'NOT_FOUND':
        return new ApiError('resource_not_found', 'No such endpoint.');
      case 'METHOD_NOT_SUPPORTED':
        return new ApiError('validation_error', 'This endpoint does not accept this method.');
      default:
        break;
    }
    if (isDatabaseUnavailable(error.cause)) return unavailable(error.cause);
    return new ApiError('internal_error', 'Internal error.', { cause: error.cause ?? error });
  }
  if (isDatabaseUnavailable(error)) return unavailable(error);
  return new ApiError('internal_error', 'Internal error.', { cause: error });
}

function unavailable(cause: unknown): ApiError {
  return new ApiError('service_unavailable', 'The database is temporarily unavailable.', {
    retryAfterSeconds: 2,
    cause,
  });
}

// tRPC's own BAD_REQUEST messages are short and fixed; anything long or multi-line is not for callers.
function safeMessage(message: string, fallback: string): string {
  return message.length > 0 && message.length <= 200 && !message.includes('\n') ? message : fallback;
}

/** A request body that is not `application/json` (415), whichever layer finds it. */
export const bodyNotJson = () =>
  new ApiError('validation_error', 'The request body must be JSON, sent as Content-Type: application/json.', {
    status: 415,
  });
