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
