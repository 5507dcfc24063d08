import type { OpenApiMeta } from 'trpc-to-openapi';
import { z, type ZodObject } from 'zod';

type Method = 'GET' | 'POST' | 'DELETE';

/** Statuses every authenticated endpoint may answer with, besides its own. */
const commonErrors = [400, 401, 403, 404, 503];

/** REST metadata for a procedure that needs a Supabase access token. */
export function protectedRoute(
  tag: 'notes' | 'accounts' | 'fans' | 'profile',
  method: Method,
  path: `/${string}`,
  summary: string,
  options: { description?: string; extraErrors?: number[]; requestHeaders?: ZodObject } = {},
): OpenApiMeta {
  return {
    openapi: {
      method,
      path,
      summary,
      protect: true,
      tags: [tag],
      errorResponses: [...commonErrors, ...(options.extraErrors ?? [])].sort(),
      ...(options.description ? { description: options.description } : {}),
      ...(options.requestHeaders ? { requestHeaders: options.requestHeaders } : {}),
    },
  };
}

/** `Idempotency-Key` as the OpenAPI document shows it (services/idempotency.ts reads and checks it). */
export const idempotencyKeyHeader = z.object({
  'Idempotency-Key': z
    .string()
    .min(1)
    .max(255)
    .optional()
    .meta({
      description:
        'Makes a retry safe: a repeat of the same request by the same user within 24 hours answers with ' +
        'the note the first one wrote, as it is now, and writes nothing. The same key with a different ' +
        'request is refused (400). 1 to 255 visible ASCII characters, e.g. a UUID.',
    }),
});

/** The documented success envelope. */
export function ok<T>(data: T): { status: 'success'; data: T } {
  return { status: 'success', data };
}
