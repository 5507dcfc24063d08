/**
 * The Supabase session cookie, as both the API (from a `Cookie` header) and the extension (from the
 * cookies API) read it. Everything here runs on untrusted input, so every function is total:
 * malformed input yields null, never an exception. No Node or browser API beyond `atob` and
 * `TextDecoder`, so the same code runs on both sides.
 *
 * Forms: `sb-<ref>-auth-token` as written by @supabase/ssr (the session as JSON, optionally
 * `base64-` + base64url of it, whole or split into `.0`, `.1`... chunks), and the legacy
 * `sb-access-token` (the JWT itself).
 */

const LEGACY_COOKIE = 'sb-access-token';
const SSR_COOKIE = /^sb-(.+)-auth-token$/;
const SSR_CHUNK = /^(sb-.+-auth-token)\.(0|[1-9][0-9]{0,3})$/;
const BASE64_PREFIX = 'base64-';
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
/** Compact JWS: three base64url segments. Anything else is not worth handing to a verifier. */
export const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** A cookie value as sent: surrounding quotes dropped, percent-decoded when that is valid. */
export function decodeCookieValue(raw: string): string {
  const value = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * The access token of the Supabase session these cookies (name to decoded value) carry, or null.
 *
 * Precedence: the `sb-<ref>-auth-token` cookie written by @supabase/ssr first, then the legacy
 * `sb-access-token` of the retired auth-helpers. The ssr cookie is the one current Supabase clients keep
 * refreshed; a legacy cookie left over from before a migration holds an older session. A malformed ssr
 * cookie falls through to the legacy one. With cookies of several projects, the first that holds a
 * token wins (the API's verifier then refuses any project's token but its own).
 */
export function sessionTokenFromCookies(cookies: ReadonlyMap<string, string>): string | null {
  for (const key of ssrCookieKeys(cookies)) {
    const token = accessTokenOfSession(combineChunks(cookies, key));
    if (token) return token;
  }
  const legacy = cookies.get(LEGACY_COOKIE);
  return legacy !== undefined && JWT_SHAPE.test(legacy) ? legacy : null;
}

/** The storage keys (`sb-<ref>-auth-token`) present, whole or as chunks, in order. */
function ssrCookieKeys(cookies: ReadonlyMap<string, string>): string[] {
  const keys = new Set<string>();
  for (const name of cookies.keys()) {
    if (SSR_COOKIE.test(name)) keys.add(name);
    else {
      const chunk = SSR_CHUNK.exec(name);
      if (chunk?.[1]) keys.add(chunk[1]);
    }
  }
  return [...keys];
}

/**
 * As @supabase/ssr reads it back: the unchunked cookie if it is set, else `.0`, `.1`, ... joined in
 * order up to the first missing one (so a lost `.0` means no value, and a gap truncates).
 */
function combineChunks(cookies: ReadonlyMap<string, string>, key: string): string | null {
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

/**
 * The value is the session as JSON, optionally `base64-` + base64url(UTF-8 JSON). The session is an
 * object with `access_token` (@supabase/ssr, supabase-js) or, from older auth-helpers, an array whose
 * first element is the access token.
 */
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

/**
 * Strict base64 / base64url of UTF-8 text. Lenient decoders skip characters outside the alphabet and
 * accept broken UTF-8; a corrupted cookie must decode to nothing rather than to something close.
 */
export function decodeBase64Utf8(text: string): string | null {
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
