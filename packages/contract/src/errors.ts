import { z } from 'zod';

/**
 * Every failure the API reports, REST and tRPC alike. The API maps each code to its HTTP status in
 * exactly one table (apps/api/src/errors.ts); clients branch on the code, never on the message.
 */
export const ErrorCode = {
  /** A field is missing, invalid or unknown, the JSON is malformed, or the body is too large (413). */
  validation_error: 'validation_error',
  /** No token, or an invalid, expired or foreign one. Sent with `WWW-Authenticate: Bearer`. */
  authentication_required: 'authentication_required',
  /** The caller is a member without the right for this operation, or an anonymous Supabase user. */
  permission_denied: 'permission_denied',
  /** Unknown fan or note, or one outside the caller's accounts (the two are indistinguishable). */
  resource_not_found: 'resource_not_found',
  /** Another full sync of this fan holds its lease. Sent with `Retry-After`. */
  sync_in_progress: 'sync_in_progress',
  /** Forced too often, or over the caller's request budget. Sent with `Retry-After`. */
  rate_limit_exceeded: 'rate_limit_exceeded',
  /** The database or the key set cannot be reached, or the server is overloaded. Sent with `Retry-After`. */
  service_unavailable: 'service_unavailable',
  /** A bug. Logged with the request id; the body says nothing more. */
  internal_error: 'internal_error',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const errorCodes = Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]];

export const ErrorBody = z.object({
  code: z.enum(errorCodes),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** The documented error envelope: `{ "status": "error", "error": { code, message, details? } }`. */
export const ErrorEnvelope = z.object({
  status: z.literal('error'),
  error: ErrorBody,
});
export type ErrorEnvelope = z.infer<typeof ErrorEnvelope>;
