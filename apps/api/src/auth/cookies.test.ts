import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { parseCookieHeader, tokenFromCookies } from './cookies.ts';

const TOKEN = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI3YjVlNGE1MiJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
const KEY = 'sb-abcdefghijklmnop-auth-token';

/** A session as supabase-js stores it, with enough non-ASCII to exercise the encodings. */
function session(accessToken: unknown = TOKEN): Record<string, unknown> {
  return {
    access_token: accessToken,
    token_type: 'bearer',
    expires_in: 3600,
    expires_at: 1_750_003_600,
    refresh_token: 'v2f7xq3kq4ab',
    user: {
      id: '7b5e4a52-4b39-4b63-9a64-1a2b3c4d5e6f',
      email: 'zoë@example.com',
      user_metadata: { name: 'Zoë 🦊' },
    },
  };
}

/** The cookie value @supabase/ssr writes with its default `cookieEncoding: 'base64url'`. */
function base64Value(value: unknown): string {
  return `base64-${Buffer.from(JSON.stringify(value), 'utf8').toString('base64url')}`;
}

/** `name.0=...; name.1=...` as the browser sends chunks: each percent-encoded on its own. */
function chunked(name: string, value: string, size: number): string[] {
  const codePoints = Array.from(value);
  const pairs: string[] = [];
  for (let i = 0; i * size < codePoints.length; i++) {
    pairs.push(`${name}.${i}=${encodeURIComponent(codePoints.slice(i * size, (i + 1) * size).join(''))}`);
  }
  return pairs;
}

const fromHeader = (header: string) => tokenFromCookies(parseCookieHeader(header));

describe('parseCookieHeader', () => {
  test('reads name=value pairs, trimming the spaces around them', () => {
    expect([...parseCookieHeader(' a=1;b=2 ;  c = 3 ')]).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
    ]);
  });

  test('no header or an empty one is no cookies', () => {
    expect(parseCookieHeader(undefined).size).toBe(0);
    expect(parseCookieHeader('').size).toBe(0);
    expect(parseCookieHeader(';;; ;').size).toBe(0);
  });

  test('pairs without = and with an empty name are skipped', () => {
    expect([...parseCookieHeader('flag; =orphan; a=1; ; b')]).toEqual([['a', '1']]);
  });

  test('a value keeps everything after its first =', () => {
    expect(parseCookieHeader('a=b=c==').get('a')).toBe('b=c==');
  });

  test('values are percent-decoded when valid and kept as sent when not', () => {
    const cookies = parseCookieHeader('a=%7B%22x%22%3A1%7D; b=100%; c=%E0%A4%A; d=%C3%AB');
    expect(Object.fromEntries(cookies)).toEqual({ a: '{"x":1}', b: '100%', c: '%E0%A4%A', d: 'ë' });
  });

  test('a repeated name keeps its first value (the most specific path)', () => {
    expect(parseCookieHeader('a=first; a=second').get('a')).toBe('first');
  });

  test('a quoted value is unquoted', () => {
    expect(parseCookieHeader('a="quoted"; b="').get('a')).toBe('quoted');
    expect(parseCookieHeader('b="').get('b')).toBe('"');
  });

  test('at most 200 cookies are read', () => {
    const header = Array.from({ length: 500 }, (_, i) => `c${i}=${i}`).join('; ');
    const cookies = parseCookieHeader(header);
    expect(cookies.size).toBe(200);
    expect(cookies.has('c199')).toBe(true);
    expect(cookies.has('c200')).toBe(false);
  });
});

describe('tokenFromCookies', () => {
  test('the legacy sb-access-token cookie holds the token itself', () => {
    expect(fromHeader(`theme=dark; sb-access-token=${TOKEN}; sb-refresh-token=abc`)).toBe(TOKEN);
  });

  test('an @supabase/ssr cookie with a base64url session yields its access token', () => {
    expect(fromHeader(`${KEY}=${base64Value(session())}`)).toBe(TOKEN);
  });

  test('an @supabase/ssr cookie in standard base64 with padding is read too', () => {
    const value = `base64-${Buffer.from(JSON.stringify(session()), 'utf8').toString('base64')}`;
    expect(value).toMatch(/[+/=]/);
    expect(fromHeader(`${KEY}=${encodeURIComponent(value)}`)).toBe(TOKEN);
  });

  test('an @supabase/ssr cookie with a raw JSON session (cookieEncoding raw) yields its access token', () => {
    expect(fromHeader(`${KEY}=${encodeURIComponent(JSON.stringify(session()))}`)).toBe(TOKEN);
  });

  test('a session split into chunks is joined in index order, whatever the header order', () => {
    const pairs = chunked(KEY, base64Value(session()), 180);
    expect(pairs.length).toBeGreaterThan(2);
    expect(fromHeader([...pairs].reverse().join('; '))).toBe(TOKEN);
  });

  test('a raw JSON session chunked at non-ASCII characters is joined intact', () => {
    const pairs = chunked(KEY, JSON.stringify(session()), 7);
    expect(fromHeader(pairs.join('; '))).toBe(TOKEN);
  });

  test('the older array session format yields its first element', () => {
    expect(fromHeader(`${KEY}=${encodeURIComponent(JSON.stringify([TOKEN, 'refresh', null, null]))}`)).toBe(
      TOKEN,
    );
  });

  test('the @supabase/ssr cookie wins over a legacy cookie', () => {
    expect(fromHeader(`sb-access-token=${TOKEN}x; ${KEY}=${base64Value(session())}`)).toBe(TOKEN);
  });

  test('a malformed @supabase/ssr cookie falls back to the legacy cookie', () => {
    expect(fromHeader(`${KEY}=base64-%%%; sb-access-token=${TOKEN}`)).toBe(TOKEN);
  });

  test('an unchunked cookie wins over leftover chunks, as @supabase/ssr reads them', () => {
    const stale = chunked(KEY, base64Value(session(`${TOKEN}stale`)), 100);
    expect(fromHeader([...stale, `${KEY}=${base64Value(session())}`].join('; '))).toBe(TOKEN);
  });

  test('other Supabase cookies (code verifier) are not sessions', () => {
    expect(fromHeader(`${KEY}-code-verifier=${base64Value(session())}`)).toBeNull();
  });

  test('no Supabase cookie is null', () => {
    expect(fromHeader('theme=dark; lang=en')).toBeNull();
    expect(tokenFromCookies(new Map())).toBeNull();
  });

  const goodChunks = chunked(KEY, base64Value(session()), 120);
  const malformed: [string, string][] = [
    [
      'a base64 session with characters outside the alphabet',
      `${KEY}=${base64Value(session()).replace('eyJ', 'e!yJ*')}`,
    ],
    ['base64 of impossible length', `${KEY}=base64-${base64Value(session()).slice(7, 12)}`],
    [
      'base64 of something that is not JSON',
      `${KEY}=base64-${Buffer.from('not json').toString('base64url')}`,
    ],
    [
      'base64 of a session with invalid UTF-8 in it',
      `${KEY}=base64-${Buffer.concat([Buffer.from(`{"access_token":"${TOKEN}","x":"`), Buffer.from([0xff, 0x22, 0x7d])]).toString('base64url')}`,
    ],
    ['raw text that is not JSON', `${KEY}=hello`],
    ['JSON null', `${KEY}=null`],
    ['a JSON number', `${KEY}=42`],
    ['a session without access_token', `${KEY}=${base64Value({ refresh_token: 'x' })}`],
    ['an access_token that is not a string', `${KEY}=${base64Value(session(12345))}`],
    ['an access_token that is not a JWT', `${KEY}=${base64Value(session('opaque token'))}`],
    ['an empty array', `${KEY}=%5B%5D`],
    ['chunks without .0', goodChunks.slice(1).join('; ')],
    ['a gap in the chunks', [goodChunks[0], ...goodChunks.slice(2)].join('; ')],
    ['an empty chunk .0', [`${KEY}.0=`, ...goodChunks.slice(1)].join('; ')],
    ['a legacy cookie that is not a JWT', 'sb-access-token=hello'],
    ['an empty legacy cookie', 'sb-access-token='],
  ];

  test.each(malformed)('%s yields null', (_name, header) => {
    expect(fromHeader(header)).toBeNull();
  });

  test('a huge header does not throw and only its first 200 cookies count', () => {
    const junk = Array.from({ length: 50_000 }, (_, i) => `j${i}=${'x'.repeat(10)}`).join('; ');
    expect(fromHeader(`${junk}; sb-access-token=${TOKEN}`)).toBeNull();
    expect(fromHeader(`sb-access-token=${TOKEN}; ${junk}`)).toBe(TOKEN);
    expect(fromHeader(`${KEY}=base64-${'A'.repeat(1 << 20)}`)).toBeNull();
    expect(fromHeader(';'.repeat(1 << 20))).toBeNull();
  });
});

describe('properties', () => {
  const anyString = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.string({ unit: 'grapheme', maxLength: 300 }),
    fc.string({
      unit: fc.constantFrom(...'sb-auth-token.0123=;% "base64-eyJ{}[]'.split('')),
      maxLength: 300,
    }),
  );

  test('parsing never throws on any header', () => {
    fc.assert(
      fc.property(anyString, (header) => {
        const cookies = parseCookieHeader(header);
        expect(cookies.size).toBeLessThanOrEqual(200);
        const token = tokenFromCookies(cookies);
        expect(token === null || typeof token === 'string').toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  test('reading a token never throws on any Supabase-looking cookies', () => {
    const name = fc.oneof(
      fc.constant(KEY),
      fc.constant('sb-access-token'),
      fc.nat(12).map((i) => `${KEY}.${i}`),
      anyString.map((ref) => `sb-${ref}-auth-token`),
    );
    const value = fc.oneof(
      anyString,
      anyString.map((text) => `base64-${text}`),
      fc.jsonValue().map((json) => base64Value(json)),
      fc.jsonValue().map((json) => JSON.stringify(json) ?? ''),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(name, value), { maxLength: 12 }), (pairs) => {
        const token = tokenFromCookies(new Map(pairs));
        expect(token === null || /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  test('any session written by @supabase/ssr, in any encoding, chunking and order, reads back', () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9_-]{1,60}$/);
    const jwt = fc.tuple(segment, segment, segment).map((parts) => parts.join('.'));
    const userMetadata = fc.dictionary(
      fc.string({ unit: 'grapheme', maxLength: 8 }),
      fc.string({ unit: 'grapheme' }),
    );
    fc.assert(
      fc.property(
        jwt,
        userMetadata,
        fc.boolean(),
        fc.integer({ min: 1, max: 400 }),
        fc.boolean(),
        (token, metadata, base64, chunkSize, reversed) => {
          const stored = { ...session(token), user: { user_metadata: metadata } };
          const value = base64 ? base64Value(stored) : JSON.stringify(stored);
          // Real chunks are 3180 characters; keep well under the cookie cap however small the draw.
          const pairs = chunked(KEY, value, Math.max(chunkSize, Math.ceil(Array.from(value).length / 150)));
          expect(fromHeader((reversed ? pairs.reverse() : pairs).join('; '))).toBe(token);
        },
      ),
    );
  });
});
