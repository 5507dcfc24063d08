/**
 * Reading a Supabase session out of a `Cookie` header. Everything here runs on untrusted input before
 * any authentication, so every function is total: malformed input yields "nothing", never an exception.
 */

/** Browsers keep about 180 cookies per domain; anything past this is not a real browser's header. */
const MAX_COOKIES = 200;

const LEGACY_COOKIE = 'sb-access-token';
const SSR_COOKIE = /^sb-(.+)-auth-token$/;
const SSR_CHUNK = /^(sb-.+-auth-token)\.(0|[1-9][0-9]{0,3})$/;
const BASE64_PREFIX = 'base64-';
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
// Compact JWS: three base64url segments. Anything else is not worth handing to the verifier.
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Cookie names to values, in header order, the first of a repeated name winning (browsers send the
 * most specific path first). Pairs without `=` or with an empty name are skipped; values are
 * percent-decoded when that is valid and kept as sent otherwise. At most MAX_COOKIES pairs are read.
 */
export function parseCookieHeader(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  if (typeof header !== 'string') return cookies;
  let start = 0;
  let seen = 0;
  while (start < header.length && seen < MAX_COOKIES) {
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    const pair = header.slice(start, end);
    start = end + 1;
    const eq = pair.indexOf('=');
    if (eq === -1) continue;
    seen++;
    const name = pair.slice(0, eq).trim();
    if (name === '' || cookies.has(name)) continue;
    cookies.set(name, decodeValue(pair.slice(eq + 1).trim()));
  }
  return cookies;
}

function decodeValue(raw: string): string {
  const value = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * The access token of the Supabase session these cookies carry, or null.
 *
 * Precedence: the `sb-<ref>-auth-token` cookie written by @supabase/ssr first, then the legacy
 * `sb-access-token` of the retired auth-helpers. The ssr cookie is the one current Supabase clients keep
 * refreshed; a legacy cookie left over from before a migration holds an older session. A malformed ssr
 * cookie falls through to the legacy one. With cookies of several projects, the first in the header
 * that holds a token wins (the verifier then refuses any project's token but ours).
 */
export function tokenFromCookies(cookies: Map<string, string>): string | null {
  for (const key of ssrCookieKeys(cookies)) {
    const token = accessTokenOfSession(combineChunks(cookies, key));
    if (token) return token;
  }
  const legacy = cookies.get(LEGACY_COOKIE);
  return legacy !== undefined && JWT_SHAPE.test(legacy) ? legacy : null;
}

/** The storage keys (`sb-<ref>-auth-token`) present, whole or as chunks, in header order. */
function ssrCookieKeys(cookies: Map<string, string>): string[] {
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

// Buffer's decoder skips characters outside the alphabet and accepts broken UTF-8; a corrupted cookie
// must decode to nothing rather than to something close to a session.
function decodeBase64Utf8(text: string): string | null {
  if (!BASE64.test(text) || text.length % 4 === 1) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(text, 'base64'));
  } catch {
    return null;
  }
}
