import type { OpenApiMeta } from 'trpc-to-openapi';

type Method = 'GET' | 'POST' | 'DELETE';

/** Statuses every authenticated endpoint may answer with, besides its own. */
const commonErrors = [400, 401, 403, 404, 503];

/** REST metadata for a procedure that needs a Supabase access token. */
export function protectedRoute(
  tag: 'notes' | 'accounts' | 'fans',
  method: Method,
  path: `/${string}`,
  summary: string,
  options: { description?: string; extraErrors?: number[] } = {},
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
    },
  };
}

/** The documented success envelope. */
export function ok<T>(data: T): { status: 'success'; data: T } {
  return { status: 'success', data };
}
