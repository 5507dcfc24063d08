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

const LEGACY_COOKIE = 'sb-access-token';
const SSR_COOKIE = /^sb-(.+)-auth-token$/;
const SSR_CHUNK = /^(sb-.+-auth-token)\.(0|[1-9][0-9]{0,3})$/;
const BASE64_PREFIX = 'base64-';
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** The access token of the Supabase session in these cookies, or null. */
export function tokenFromCookies(list: readonly CookieLike[]): string | null {
  const cookies = new Map<string, string>();
  for (const { name, value } of list) if (!cookies.has(name)) cookies.set(name, percentDecode(value));
  const keys = new Set<string>();
  for (const name of cookies.keys()) {
    if (SSR_COOKIE.test(name)) keys.add(name);
    else {
      const chunk = SSR_CHUNK.exec(name);
      if (chunk?.[1]) keys.add(chunk[1]);
    }
  }
  for (const key of keys) {
    const token = accessTokenOfSession(combineChunks(cookies, key));
    if (token) return token;
  }
  const legacy = cookies.get(LEGACY_COOKIE);
  return legacy !== undefined && JWT_SHAPE.test(legacy) ? legacy : null;
}

/** The unchunked cookie if set, else `.0`, `.1`... joined up to the first missing one. */
function combineChunks(cookies: Map<string, string>, key: string): string | null {
  const whole = cookies.get(key);
  if (whole) return whole;
  let value = '';
  for (let i = 0; ; i++) {
    const chunk = cookies.get(`${key}.${i}`);
    if (!chunk) break;
    value += chunk;
  }
  return value === '' ? null : value;
}

function accessTokenOfSession(value: string | null): string | null {
  if (value === null) return null;
  let json = value;
  if (value.startsWith(BASE64_PREFIX)) {
    const decoded = decodeBase64Utf8(value.slice(BASE64_PREFIX.length));
    if (decoded === null) return null;
    json = decoded;
  }
  let session: unknown;
  try {
    session = JSON.parse(json);
  } catch {
    return null;
  }
  const token: unknown = Array.isArray(session)
    ? session[0]
    : typeof session === 'object' && session !== null
      ? (session as { access_token?: unknown }).access_token
      : undefined;
  return typeof token === 'string' && JWT_SHAPE.test(token) ? token : null;
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

function percentDecode(value: string): string {
  const unquoted =
    value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
  if (!unquoted.includes('%')) return unquoted;
  try {
    return decodeURIComponent(unquoted);
  } catch {
    return unquoted;
  }
}

function decodeBase64Utf8(text: string): string | null {
  if (!BASE64.test(text) || text.length % 4 === 1) return null;
  try {
    const bare = text.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(bare.padEnd(Math.ceil(bare.length / 4) * 4, '='));
    const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
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
