import { decodeCookieValue, sessionTokenFromCookies } from '@fannotes/contract';

/**
 * Reading a Supabase session out of a `Cookie` header. Everything here runs on untrusted input before
 * any authentication, so every function is total: malformed input yields "nothing", never an exception.
 */

/** Browsers keep about 180 cookies per domain; anything past this is not a real browser's header. */
const MAX_COOKIES = 200;

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
    cookies.set(name, decodeCookieValue(pair.slice(eq + 1).trim()));
  }
  return cookies;
}

/**
 * The access token of the Supabase session these cookies carry, or null (see the contract's
 * supabase-session.ts for the forms and their precedence).
 */
export function tokenFromCookies(cookies: Map<string, string>): string | null {
  return sessionTokenFromCookies(cookies);
}
