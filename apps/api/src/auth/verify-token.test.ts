import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { base64url, exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { ApiError } from '../errors.ts';
import { createTokenVerifier, requireRegisteredUser, type AuthConfig } from './verify-token.ts';

const SUPABASE_URL = 'https://abcdefghijklmnop.supabase.co';
const ISSUER = `${SUPABASE_URL}/auth/v1`;
const USER_ID = '7b5e4a52-4b39-4b63-9a64-1a2b3c4d5e6f';
const SESSION_ID = 'c0ffee00-1234-4abc-8def-001122334455';
/** The fixed clock every verifier here reads (2025-06-15T15:06:40Z). */
const NOW = 1_750_000_000;
const now = () => new Date(NOW * 1000);
const SECRET = randomBytes(40).toString('base64');

interface KeyPair {
  kid: string;
  alg: 'ES256' | 'RS256';
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

async function keyPair(alg: 'ES256' | 'RS256', kid: string): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { kid, alg, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** What Supabase Auth puts in an access token for an email user, at the fixed clock. */
function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: ISSUER,
    sub: USER_ID,
    aud: 'authenticated',
    exp: NOW + 3600,
    iat: NOW - 60,
    email: 'chatter@example.com',
    phone: '',
    app_metadata: { provider: 'email', providers: ['email'] },
    user_metadata: {},
    role: 'authenticated',
    aal: 'aal1',
    amr: [{ method: 'password', timestamp: NOW - 60 }],
    session_id: SESSION_ID,
    is_anonymous: false,
    ...overrides,
  };
}

function signHs(payload: Record<string, unknown>, secret: string | Uint8Array = SECRET, alg = 'HS256') {
  const key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  return new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT' }).sign(key);
}

function signWith(pair: KeyPair, payload: Record<string, unknown>, kid: string = pair.kid) {
  return new SignJWT(payload).setProtectedHeader({ alg: pair.alg, typ: 'JWT', kid }).sign(pair.privateKey);
}

function unsigned(header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const part = (value: unknown) => base64url.encode(JSON.stringify(value));
  return `${part(header)}.${part(payload)}.`;
}

type Mode = 'ok' | 'error' | 'garbage' | 'not-a-key-set' | 'hang';

/** A real JWKS endpoint on 127.0.0.1 that counts the requests it gets. */
async function startKeyServer(keys: JWK[]) {
  const hanging: ServerResponse[] = [];
  const state = { requests: 0, keys, mode: 'ok' as Mode };
  const server = createServer((_req, res) => {
    state.requests++;
    if (state.mode === 'hang') return void hanging.push(res);
    if (state.mode === 'error') return void res.writeHead(500).end('upstream failure');
    if (state.mode === 'garbage') return void res.writeHead(200).end('<html>not json');
    const body = state.mode === 'not-a-key-set' ? { keys: 'nope' } : { keys: state.keys };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let open = true;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/auth/v1/.well-known/jwks.json`,
    async stop() {
      if (!open) return;
      open = false;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
type KeyServer = Awaited<ReturnType<typeof startKeyServer>>;

/** The error a verification fails with; fails the test if it succeeds or throws anything else. */
async function failure(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

async function authFailure(promise: Promise<unknown>): Promise<string> {
  const error = await failure(promise);
  expect(error.apiCode).toBe('authentication_required');
  expect(error.httpStatus).toBe(401);
  return error.message;
}

let es: KeyPair;
let rs: KeyPair;
let stranger: KeyPair;
let server: KeyServer;
const servers: KeyServer[] = [];

async function keyServer(keys: JWK[]): Promise<KeyServer> {
  const started = await startKeyServer(keys);
  servers.push(started);
  return started;
}

function verifier(overrides: Partial<AuthConfig> = {}) {
  return createTokenVerifier({ issuer: ISSUER, jwtSecret: SECRET, jwksUrl: server.url, now, ...overrides });
}

beforeAll(async () => {
  [es, rs, stranger] = await Promise.all([
    keyPair('ES256', 'es-1'),
    keyPair('RS256', 'rs-1'),
    keyPair('ES256', 'es-stranger'),
  ]);
  server = await keyServer([es.jwk, rs.jwk]);
});

afterEach(() => {
  vi.useRealTimers();
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

describe('accepted tokens', () => {
  test('a valid HS256 access token yields the Supabase user', async () => {
    expect(await verifier()(await signHs(claims()))).toEqual({
      userId: USER_ID,
      email: 'chatter@example.com',
      isAnonymous: false,
      sessionId: SESSION_ID,
      tokenName: 'chatter',
    });
  });

  test("the token's name is user_metadata.full_name, else name, else the email's local part", async () => {
    const verify = verifier();
    const nameOf = async (extra: Record<string, unknown>) =>
      (await verify(await signHs(claims(extra)))).tokenName;
    expect(await nameOf({ user_metadata: { full_name: ' Ana  Lima ', name: 'ana' } })).toBe('Ana Lima');
    expect(await nameOf({ user_metadata: { name: 'Bea' } })).toBe('Bea');
    expect(await nameOf({ user_metadata: { full_name: '   ', name: 42 } })).toBe('chatter');
    expect(await nameOf({ user_metadata: 'not an object' })).toBe('chatter');
    expect(await nameOf({ user_metadata: { full_name: 'Zo\u0000ë\n\u0007' } })).toBe('Zoë');
    expect(await nameOf({ user_metadata: { full_name: 'x'.repeat(200) } })).toBe('x'.repeat(80));
    expect(await nameOf({ email: '', user_metadata: {} })).toBeNull();
  });

  test('valid ES256 and RS256 tokens verify against the project key set', async () => {
    const verify = verifier();
    expect((await verify(await signWith(es, claims()))).userId).toBe(USER_ID);
    expect((await verify(await signWith(rs, claims()))).userId).toBe(USER_ID);
  });

  test('a key set alone (no secret) verifies asymmetric tokens', async () => {
    const verify = verifier({ jwtSecret: undefined });
    expect((await verify(await signWith(es, claims()))).userId).toBe(USER_ID);
  });

  test('a token just past exp or with iat just ahead is accepted within the clock tolerance', async () => {
    const verify = verifier();
    await expect(verify(await signHs(claims({ exp: NOW - 20 })))).resolves.toBeTruthy();
    await expect(verify(await signHs(claims({ iat: NOW + 20, nbf: NOW + 20 })))).resolves.toBeTruthy();
  });

  test('an upper-case user id comes back in canonical lower case', async () => {
    const user = await verifier()(await signHs(claims({ sub: USER_ID.toUpperCase() })));
    expect(user.userId).toBe(USER_ID);
  });

  test('a user without email or session id (phone sign-in) gets nulls, not empty strings', async () => {
    const user = await verifier()(await signHs(claims({ email: '', session_id: undefined })));
    expect(user).toMatchObject({ email: null, sessionId: null });
  });
});

describe('refused tokens are 401 authentication_required', () => {
  const INVALID = 'The access token is invalid.';
  const EXPIRED = 'The access token has expired.';
  const API_KEY = 'The access token is a project API key, not a user session.';

  const cases: { name: string; token: () => Promise<string> | string; message: string }[] = [
    { name: 'without exp', token: () => signHs(claims({ exp: undefined })), message: INVALID },
    { name: 'without iat', token: () => signHs(claims({ iat: undefined })), message: INVALID },
    {
      name: 'expired beyond the tolerance',
      token: () => signHs(claims({ exp: NOW - 31 })),
      message: EXPIRED,
    },
    { name: 'expired ES256', token: () => signWith(es, claims({ exp: NOW - 3600 })), message: EXPIRED },
    { name: 'issued in the future', token: () => signHs(claims({ iat: NOW + 600 })), message: INVALID },
    {
      name: 'not valid before a future nbf',
      token: () => signHs(claims({ nbf: NOW + 600 })),
      message: INVALID,
    },
    {
      name: 'signed with another secret',
      token: () => signHs(claims(), 'another-secret-another-secret!!'),
      message: INVALID,
    },
    { name: 'with alg none', token: () => unsigned({ alg: 'none', typ: 'JWT' }, claims()), message: INVALID },
    { name: 'with alg None', token: () => unsigned({ alg: 'None' }, claims()), message: INVALID },
    { name: 'HS512 with the right secret', token: () => signHs(claims(), SECRET, 'HS512'), message: INVALID },
    {
      name: 'HS256 signed with the RS256 public key PEM as secret',
      token: async () => signHs(claims(), await exportSPKI(rs.publicKey)),
      message: INVALID,
    },
    {
      name: 'HS256 signed with the ES256 public JWK as secret',
      token: () => signHs(claims(), JSON.stringify(es.jwk)),
      message: INVALID,
    },
    {
      name: 'ES256 with a key-set kid but a foreign key',
      token: () => signWith(stranger, claims(), 'es-1'),
      message: INVALID,
    },
    {
      name: 'ES256 with a kid the key set lacks',
      token: () => signWith(stranger, claims()),
      message: INVALID,
    },
    { name: 'for another audience', token: () => signHs(claims({ aud: 'anon' })), message: INVALID },
    { name: 'without an audience', token: () => signHs(claims({ aud: undefined })), message: INVALID },
    {
      name: 'from another project',
      token: () => signHs(claims({ iss: 'https://otherproject.supabase.co/auth/v1' })),
      message: INVALID,
    },
    { name: 'without sub', token: () => signHs(claims({ sub: undefined })), message: INVALID },
    { name: 'with a non-UUID sub', token: () => signHs(claims({ sub: 'user-42' })), message: INVALID },
    { name: 'with role anon', token: () => signHs(claims({ role: 'anon' })), message: INVALID },
    { name: 'without role', token: () => signHs(claims({ role: undefined })), message: INVALID },
    {
      name: "the project's anon key",
      token: () =>
        signHs({ iss: 'supabase', ref: 'abcdefghijklmnop', role: 'anon', iat: NOW - 9e6, exp: NOW + 9e7 }),
      message: API_KEY,
    },
    {
      name: "the project's service_role key",
      token: () =>
        signHs({
          iss: 'supabase',
          ref: 'abcdefghijklmnop',
          role: 'service_role',
          iat: NOW - 9e6,
          exp: NOW + 9e7,
        }),
      message: API_KEY,
    },
    {
      name: 'validly signed but over the size cap',
      token: () => signHs(claims({ user_metadata: { bio: 'x'.repeat(9000) } })),
      message: INVALID,
    },
    { name: 'an empty string', token: () => '', message: 'The access token is missing.' },
    { name: 'a word', token: () => 'not-a-token', message: INVALID },
    { name: 'three dots', token: () => 'a.b.c', message: INVALID },
    { name: 'only dots', token: () => '..', message: INVALID },
    { name: 'a header alone', token: () => 'eyJhbGciOiJIUzI1NiJ9', message: INVALID },
    {
      name: 'a header that is not JSON',
      token: () => `${base64url.encode('{"alg":')}.e30.sig`,
      message: INVALID,
    },
    { name: 'control characters', token: () => '\u0000\u0001.\uffff.\ud800', message: INVALID },
    { name: 'a megabyte of dots', token: () => '.'.repeat(1 << 20), message: INVALID },
  ];

  test.each(cases)('a token $name is refused', async ({ token, message }) => {
    expect(await authFailure(verifier()(await token()))).toBe(message);
  });

  test('an asymmetric token is refused when only a secret is configured', async () => {
    const verify = verifier({ jwksUrl: undefined });
    expect(await authFailure(verify(await signWith(es, claims())))).toBe(INVALID);
  });

  test('an HS256 token is refused when only a key set is configured, even one signed with its public key', async () => {
    const verify = verifier({ jwtSecret: undefined });
    expect(await authFailure(verify(await signHs(claims())))).toBe(INVALID);
    expect(await authFailure(verify(await signHs(claims(), await exportSPKI(rs.publicKey))))).toBe(INVALID);
  });

  test('the error names no claim and carries no token content', async () => {
    const token = await signHs(claims({ aud: 'someone-else', email: 'secret@example.com' }));
    const error = await failure(verifier()(token));
    expect({ code: error.apiCode, status: error.httpStatus, message: error.message }).toMatchInlineSnapshot(`
      {
        "code": "authentication_required",
        "message": "The access token is invalid.",
        "status": 401,
      }
    `);
    expect(JSON.stringify(error.cause ?? {}) + String(error.cause)).not.toContain('secret@example.com');
  });
});

describe('anonymous users', () => {
  test('an anonymous Supabase user verifies but is refused with 403 permission_denied', async () => {
    const user = await verifier()(await signHs(claims({ is_anonymous: true, email: '' })));
    expect(user.isAnonymous).toBe(true);
    const error = await failure(Promise.resolve().then(() => requireRegisteredUser(user)));
    expect({ code: error.apiCode, status: error.httpStatus, message: error.message }).toMatchInlineSnapshot(`
      {
        "code": "permission_denied",
        "message": "Anonymous users cannot use this API; sign in with an account.",
        "status": 403,
      }
    `);
  });

  test('a registered user passes requireRegisteredUser unchanged', async () => {
    const user = await verifier()(await signHs(claims()));
    expect(requireRegisteredUser(user)).toBe(user);
  });
});

describe('configuration', () => {
  test('a verifier without a secret or a key set cannot be built', () => {
    expect(() => createTokenVerifier({ issuer: ISSUER })).toThrow(/JWT secret or a JWKS URL/);
    expect(() => createTokenVerifier({ issuer: ISSUER, jwtSecret: '' })).toThrow(/JWT secret or a JWKS URL/);
  });

  test('a custom size cap applies', async () => {
    const token = await signHs(claims());
    expect(await authFailure(verifier({ maxTokenBytes: token.length - 1 })(token))).toBe(
      'The access token is invalid.',
    );
    await expect(verifier({ maxTokenBytes: token.length })(token)).resolves.toBeTruthy();
  });
});

describe('the key set', () => {
  // These pin the key set resolver itself: with the verified-token cache off, every call reaches it.
  const uncachedVerifier = (overrides: Partial<AuthConfig>) => verifier({ cacheTtlMs: 0, ...overrides });
  const unavailable = async (promise: Promise<unknown>) => {
    const error = await failure(promise);
    return {
      code: error.apiCode,
      status: error.httpStatus,
      retryAfter: error.retryAfterSeconds,
      message: error.message,
    };
  };
  const UNAVAILABLE = {
    code: 'service_unavailable',
    status: 503,
    retryAfter: 5,
    message: 'The key set cannot be reached.',
  };

  test('a key rotated into the key set is accepted once the cooldown has passed', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const keys = await keyServer([es.jwk]);
    const verify = uncachedVerifier({ jwksUrl: keys.url });
    await verify(await signWith(es, claims()));
    const next = await keyPair('ES256', 'es-2');
    keys.keys = [es.jwk, next.jwk];

    vi.setSystemTime(Date.now() + 30_001);
    expect((await verify(await signWith(next, claims()))).userId).toBe(USER_ID);
    expect((await verify(await signWith(es, claims()))).userId).toBe(USER_ID);
    expect(keys.requests).toBe(2);
  });

  test('a key that replaced the old one is accepted and the old one refused', async () => {
    const keys = await keyServer([es.jwk]);
    const verify = uncachedVerifier({ jwksUrl: keys.url, jwksCooldownMs: 0 });
    await verify(await signWith(es, claims()));
    const next = await keyPair('RS256', 'rs-2');
    keys.keys = [next.jwk];
    expect((await verify(await signWith(next, claims()))).userId).toBe(USER_ID);
    await authFailure(verify(await signWith(es, claims())));
  });

  test('an unknown kid repeated many times refetches the key set at most once per cooldown', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const keys = await keyServer([es.jwk]);
    const verify = uncachedVerifier({ jwksUrl: keys.url });
    await verify(await signWith(es, claims()));
    expect(keys.requests).toBe(1);

    const forged = await signWith(stranger, claims(), 'kid-nobody-published');
    for (let i = 0; i < 20; i++) await authFailure(verify(forged));
    await Promise.all(Array.from({ length: 20 }, () => authFailure(verify(forged))));
    expect(keys.requests).toBe(1);

    vi.setSystemTime(Date.now() + 30_001);
    for (let i = 0; i < 20; i++) await authFailure(verify(forged));
    await Promise.all(Array.from({ length: 20 }, () => authFailure(verify(forged))));
    expect(keys.requests).toBe(2);
  });

  test('a warm cache keeps verifying after the key set server stops', async () => {
    const keys = await keyServer([es.jwk, rs.jwk]);
    const verify = uncachedVerifier({ jwksUrl: keys.url });
    await verify(await signWith(es, claims()));
    await keys.stop();
    expect((await verify(await signWith(es, claims()))).userId).toBe(USER_ID);
    expect((await verify(await signWith(rs, claims()))).userId).toBe(USER_ID);
  });

  test('past its max age, a cache whose refresh fails keeps verifying and retries once per cooldown', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const keys = await keyServer([es.jwk]);
    const verify = uncachedVerifier({ jwksUrl: keys.url, jwksCacheMaxAgeMs: 60_000 });
    const token = await signWith(es, claims());
    await verify(token);

    keys.mode = 'error';
    vi.setSystemTime(Date.now() + 61_000);
    for (let i = 0; i < 10; i++) expect((await verify(token)).userId).toBe(USER_ID);
    expect(keys.requests).toBe(2);

    vi.setSystemTime(Date.now() + 30_001);
    expect((await verify(token)).userId).toBe(USER_ID);
    expect(keys.requests).toBe(3);

    keys.mode = 'ok';
    vi.setSystemTime(Date.now() + 30_001);
    for (let i = 0; i < 10; i++) expect((await verify(token)).userId).toBe(USER_ID);
    expect(keys.requests).toBe(4);
  });

  test('an unknown kid while the key set is unreachable is 503, not 401: it may be a new key', async () => {
    const keys = await keyServer([es.jwk]);
    const verify = uncachedVerifier({ jwksUrl: keys.url });
    await verify(await signWith(es, claims()));
    await keys.stop();
    const next = await keyPair('ES256', 'es-next');
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 30_001);
    expect(await unavailable(verify(await signWith(next, claims())))).toEqual(UNAVAILABLE);
    expect((await verify(await signWith(es, claims()))).userId).toBe(USER_ID);
  });

  test('a cold cache with the key set server down is 503 service_unavailable with Retry-After', async () => {
    const keys = await keyServer([es.jwk]);
    await keys.stop();
    const verify = uncachedVerifier({ jwksUrl: keys.url });
    const token = await signWith(es, claims());
    expect(await unavailable(verify(token))).toEqual(UNAVAILABLE);
    expect(await unavailable(verify(token))).toEqual(UNAVAILABLE);
  });

  test.each([
    ['answers 500', 'error'],
    ['answers something that is not JSON', 'garbage'],
    ['answers JSON that is not a key set', 'not-a-key-set'],
  ] as const)('a cold cache whose key set server %s is 503', async (_name, mode) => {
    const keys = await keyServer([es.jwk]);
    keys.mode = mode;
    const verify = uncachedVerifier({ jwksUrl: keys.url });
    expect(await unavailable(verify(await signWith(es, claims())))).toEqual(UNAVAILABLE);
  });

  test('a cold cache whose key set server never answers is 503 after the timeout', async () => {
    const keys = await keyServer([es.jwk]);
    keys.mode = 'hang';
    const verify = uncachedVerifier({ jwksUrl: keys.url, jwksTimeoutMs: 50 });
    expect(await unavailable(verify(await signWith(es, claims())))).toEqual(UNAVAILABLE);
  });

  test('a cold cache recovers on the first request after the key set server is back', async () => {
    const keys = await keyServer([es.jwk]);
    keys.mode = 'error';
    const verify = uncachedVerifier({ jwksUrl: keys.url });
    const token = await signWith(es, claims());
    await unavailable(verify(token));
    keys.mode = 'ok';
    expect((await verify(token)).userId).toBe(USER_ID);
  });

  test('HS256 tokens verify while the key set is down', async () => {
    const keys = await keyServer([es.jwk]);
    await keys.stop();
    expect((await uncachedVerifier({ jwksUrl: keys.url })(await signHs(claims()))).userId).toBe(USER_ID);
  });
});

describe('the verified-token cache', () => {
  const INVALID = 'The access token is invalid.';
  const EXPIRED = 'The access token has expired.';

  /** The verifier's clock, moved by hand; the key set's own cache runs on the real one. */
  function manualClock() {
    const clock = { ms: NOW * 1000, now: () => new Date(clock.ms) };
    return clock;
  }

  /**
   * A verifier whose key set is refetched on every lookup (max age 0, cooldown 0), so the key server's
   * request count is the number of times a token reached the signature check.
   */
  async function countingVerifier(overrides: Partial<AuthConfig> = {}) {
    const keys = await keyServer([es.jwk]);
    const clock = manualClock();
    const verify = verifier({
      jwksUrl: keys.url,
      jwksCacheMaxAgeMs: 0,
      jwksCooldownMs: 0,
      now: clock.now,
      ...overrides,
    });
    return { keys, clock, verify };
  }

  test('a token seen again within the ttl is not checked against the key set again', async () => {
    const { keys, clock, verify } = await countingVerifier();
    const token = await signWith(es, claims());
    const user = await verify(token);
    expect(keys.requests).toBe(1);
    await verify(await signWith(es, claims()));
    expect(keys.requests).toBe(2);

    clock.ms += 59_999;
    for (let i = 0; i < 10; i++) expect(await verify(token)).toBe(user);
    await Promise.all(Array.from({ length: 10 }, async () => expect(await verify(token)).toBe(user)));
    expect(keys.requests).toBe(2);
  });

  test('with cacheTtlMs 0 every request is checked against the key set', async () => {
    const { keys, verify } = await countingVerifier({ cacheTtlMs: 0 });
    const token = await signWith(es, claims());
    for (let i = 0; i < 3; i++) expect((await verify(token)).userId).toBe(USER_ID);
    expect(keys.requests).toBe(3);
  });

  test.each([30, 0])(
    'a remembered token past exp plus a tolerance of %is gets the expired error',
    async (clockToleranceSec) => {
      const { keys, clock, verify } = await countingVerifier({ clockToleranceSec, cacheTtlMs: 600_000 });
      const token = await signWith(es, claims({ exp: NOW + 100 }));
      await verify(token);

      clock.ms = (NOW + 100 + clockToleranceSec) * 1000 - 1;
      expect((await verify(token)).userId).toBe(USER_ID);
      expect(keys.requests).toBe(1);

      clock.ms += 1;
      expect(await authFailure(verify(token))).toBe(EXPIRED);
      expect(await authFailure(verify(token))).toBe(EXPIRED);
      expect(await authFailure(verifier({ clockToleranceSec, now: clock.now })(token))).toBe(EXPIRED);
    },
  );

  test('a remembered HS256 token past exp gets the expired error', async () => {
    const clock = manualClock();
    const verify = verifier({ now: clock.now });
    const token = await signHs(claims({ exp: NOW + 10 }));
    await verify(token);
    clock.ms = (NOW + 40) * 1000;
    expect(await authFailure(verify(token))).toBe(EXPIRED);
  });

  test('a remembered token is refused as a fresh one would be when the clock moves back before its nbf', async () => {
    const clock = manualClock();
    const verify = verifier({ now: clock.now });
    const token = await signHs(claims({ nbf: NOW + 20 }));
    await verify(token);
    clock.ms -= 60_000;
    expect(await authFailure(verify(token))).toBe(INVALID);
    expect(await authFailure(verifier({ now: clock.now })(token))).toBe(INVALID);
  });

  test('past the ttl a token is verified again, and refused once its key has left the key set', async () => {
    const { keys, clock, verify } = await countingVerifier();
    const token = await signWith(es, claims());
    await verify(token);

    clock.ms += 60_000;
    expect((await verify(token)).userId).toBe(USER_ID);
    expect(keys.requests).toBe(2);

    keys.keys = [rs.jwk];
    clock.ms += 59_999;
    expect((await verify(token)).userId).toBe(USER_ID);
    expect(keys.requests).toBe(2);

    clock.ms += 1;
    expect(await authFailure(verify(token))).toBe(INVALID);
    expect(keys.requests).toBeGreaterThan(2);
    expect(await authFailure(verify(token))).toBe(INVALID);
  });

  test('past cacheMaxEntries the oldest token is verified again', async () => {
    const { keys, verify } = await countingVerifier({ cacheMaxEntries: 2 });
    const a = await signWith(es, claims());
    const b = await signWith(es, claims());
    const c = await signWith(es, claims());
    await verify(a);
    await verify(b);
    await verify(a);
    await verify(b);
    expect(keys.requests).toBe(2);

    await verify(c);
    await verify(b);
    await verify(c);
    expect(keys.requests).toBe(3);

    await verify(a);
    expect(keys.requests).toBe(4);
  });

  test('a token refused while the key set was unreachable is accepted once it is back', async () => {
    const { keys, verify } = await countingVerifier();
    const token = await signWith(es, claims());
    keys.mode = 'error';
    expect((await failure(verify(token))).apiCode).toBe('service_unavailable');
    keys.mode = 'ok';
    expect((await verify(token)).userId).toBe(USER_ID);
  });

  test('an invalid token is checked and refused on every attempt', async () => {
    const { keys, verify } = await countingVerifier();
    const forged = await signWith(stranger, claims(), 'es-1');
    for (let i = 1; i <= 3; i++) {
      expect(await authFailure(verify(forged))).toBe(INVALID);
      expect(keys.requests).toBe(i);
    }
  });

  test('a token with the claims of a remembered one but another signature is refused', async () => {
    const { verify } = await countingVerifier();
    const token = await signWith(es, claims());
    await verify(token);
    const forged = await signWith(stranger, claims(), 'es-1');
    expect(forged.slice(0, forged.lastIndexOf('.'))).toBe(token.slice(0, token.lastIndexOf('.')));
    expect(await authFailure(verify(forged))).toBe(INVALID);
  });

  test('a remembered anonymous user is still refused by requireRegisteredUser', async () => {
    const verify = verifier();
    const token = await signHs(claims({ is_anonymous: true, email: '' }));
    await verify(token);
    const user = await verify(token);
    expect(user.isAnonymous).toBe(true);
    expect(() => requireRegisteredUser(user)).toThrow(ApiError);
  });
});
