import { ApiError } from '../errors.ts';
import { parseCookieHeader, tokenFromCookies } from './cookies.ts';

export interface TokenSource {
  token: string;
  via: 'bearer' | 'cookie';
}

// RFC 6750: `Bearer` (any case), one or more spaces, one b64token.
const BEARER = /^bearer[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i;

/**
 * Where this request's access token comes from, or null when it carries none (the caller answers 401).
 *
 * The Authorization header wins whenever it is present: a malformed one is an error, not a reason to
 * try the cookies, so a client's bug never silently authenticates as whoever the browser is signed in
 * as. An empty header carries no credential and counts as absent.
 *
 * Cookies are ambient (the browser attaches them to cross-site requests too), so a cookie-authenticated
 * request from a web origin must come from an allowed one. Requests without `Origin` (curl, servers,
 * the extension's background) cannot be cross-site forgeries and pass.
 */
export function tokenFromRequest(
  headers: { authorization?: string | undefined; cookie?: string | undefined; origin?: string | undefined },
  allowedOrigins: readonly string[],
): TokenSource | null {
  const authorization = headers.authorization?.trim();
  if (authorization) {
    const match = BEARER.exec(authorization);
    if (!match?.[1]) {
      throw new ApiError(
        'authentication_required',
        'The Authorization header must be "Bearer <access token>".',
      );
    }
    return { token: match[1], via: 'bearer' };
  }

  const token = tokenFromCookies(parseCookieHeader(headers.cookie));
  if (token === null) return null;
  if (headers.origin !== undefined && !isAllowedOrigin(headers.origin, allowedOrigins)) {
    throw new ApiError('permission_denied', 'Cookie authentication is not allowed from this origin.');
  }
  return { token, via: 'cookie' };
}

function isAllowedOrigin(origin: string, allowedOrigins: readonly string[]): boolean {
  const wanted = normalizeOrigin(origin);
  return allowedOrigins.some((allowed) => normalizeOrigin(allowed) === wanted);
}

// ALLOWED_ORIGINS may be written as URLs (`https://app.example.com/`); browsers send bare origins.
// Schemes without a URL origin (`chrome-extension://<id>`) and `null` compare as lower-case text.
function normalizeOrigin(origin: string): string {
  let text = origin.trim().toLowerCase();
  while (text.endsWith('/')) text = text.slice(0, -1);
  try {
    const parsed = new URL(text).origin;
    return parsed === 'null' ? text : parsed;
  } catch {
    return text;
  }
}
