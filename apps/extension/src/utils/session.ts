import { JWT_SHAPE, decodeBase64Utf8, decodeCookieValue, sessionTokenFromCookies } from '@fannotes/contract';
import type { Settings } from './model.ts';

/**
 * The signed-in user: a Supabase access token, taken from the configured web app's session cookie
 * (read with the cookies API) or pasted on the options page for development. Cookie forms, as the API
 * reads them (apps/api/src/auth/cookies.ts): `sb-<ref>-auth-token` written by @supabase/ssr (JSON,
 * optionally `base64-` + base64url, whole or split into `.0`, `.1`... chunks) first, then the legacy
 * `sb-access-token`. Everything here is total: malformed input yields null, never an exception.
 */

export interface CookieLike {
  name: string;
  value: string;
}

/** The access token of the Supabase session in these cookies, or null. */
export function tokenFromCookies(list: readonly CookieLike[]): string | null {
  const cookies = new Map<string, string>();
  for (const { name, value } of list) if (!cookies.has(name)) cookies.set(name, decodeCookieValue(value));
  return sessionTokenFromCookies(cookies);
}

/** What the extension reads from a token without verifying it (the API verifies): who, and until when. */
export interface TokenClaims {
  userId: string;
  /** Epoch ms. */
  expiresAt: number;
}

/** The `sub` and `exp` of a JWT, or null if it is not one. */
export function readClaims(token: string): TokenClaims | null {
  if (!JWT_SHAPE.test(token)) return null;
  const payload = decodeBase64Utf8(token.split('.')[1]!);
  if (payload === null) return null;
  try {
    const claims = JSON.parse(payload) as { sub?: unknown; exp?: unknown };
    if (typeof claims.sub !== 'string' || typeof claims.exp !== 'number') return null;
    return { userId: claims.sub.toLowerCase(), expiresAt: claims.exp * 1000 };
  } catch {
    return null;
  }
}

/**
 * The session to call the API with: a pasted token wins (development), else the app's cookie. An
 * expired token is no session (the API would answer 401), but still names the user, so their outbox
 * stays theirs while they sign in again.
 */
export function sessionFrom(
  token: string | null,
  now: number,
  signInHint: string,
): { ok: true; token: string; userId: string } | { ok: false; message: string; userId: string | null } {
  if (!token) return { ok: false, message: signInHint, userId: null };
  const claims = readClaims(token);
  if (!claims) return { ok: false, message: 'The access token is not a valid JWT.', userId: null };
  if (claims.expiresAt <= now) {
    return { ok: false, message: `Your session has expired. ${signInHint}`, userId: claims.userId };
  }
  return { ok: true, token, userId: claims.userId };
}

/**
 * The session of these settings now: the pasted token, else the app's cookie (`cookies` reads them;
 * it fails without the host permission for the app, which the options page asks for). The background
 * and the Team screen both call the API with it.
 */
export async function currentSession(
  settings: Settings,
  cookies: (url: string) => Promise<readonly CookieLike[]>,
  now: number,
): Promise<ReturnType<typeof sessionFrom>> {
  let token: string | null = settings.devToken.trim() || null;
  if (!token && settings.appOrigin) {
    try {
      token = tokenFromCookies(await cookies(settings.appOrigin));
    } catch {
      token = null; // No host permission for the app origin yet: the options page asks for it.
    }
  }
  const hint = settings.appOrigin
    ? `Sign in at ${settings.appOrigin}.`
    : 'Set the sign-in web app (or paste a token) in the FanNotes options.';
  return sessionFrom(token, now, hint);
}
