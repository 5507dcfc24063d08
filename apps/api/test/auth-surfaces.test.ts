import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { base64url, exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { createTestApp, ISSUER, seedAccount, START, type TestApp } from './harness.ts';

// The authentication matrix over real HTTP, on both surfaces: every token case runs against
// REST `POST /api/v2/sync-notes` and tRPC `POST /trpc/notes.sync` with the same JSON body. The app
// accepts HS256 (the harness secret) and ES256/RS256 from a JWKS served by a local HTTP server.

const ALLOWED_ORIGIN = 'https://app.example.com';
const REF = 'abcdefghijklmnop';
const SSR_COOKIE = `sb-${REF}-auth-token`;
/** The harness's fixed clock, in epoch seconds. */
const NOW = Math.floor(START.getTime() / 1000);
const FAN_ID = '12345';

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

let app: TestApp;
let base: string;
let seeded: Awaited<ReturnType<typeof seedAccount>>;
let es: KeyPair;
let rs: KeyPair;
let stranger: KeyPair;
let jwksServer: Server;
let jwksRequests = 0;

beforeAll(async () => {
  [es, rs, stranger] = await Promise.all([
    keyPair('ES256', 'es-1'),
    keyPair('RS256', 'rs-1'),
    keyPair('ES256', 'es-stranger'),
  ]);
  jwksServer = createServer((_req, res) => {
    jwksRequests++;
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ keys: [es.jwk, rs.jwk] }));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const { port } = jwksServer.address() as AddressInfo;
  app = await createTestApp({
    auth: { jwksUrl: `http://127.0.0.1:${port}/auth/v1/.well-known/jwks.json` },
  });
  base = await app.listen();
  seeded = await seedAccount(app, FAN_ID);
});

afterAll(async () => {
  await app?.close();
  if (jwksServer) {
    jwksServer.closeAllConnections();
    await new Promise<void>((resolve) => jwksServer.close(() => resolve()));
  }
});

// ---------------------------------------------------------------------------------------------------
// Tokens

/** What Supabase Auth puts in an access token for an email user, at the harness's fixed clock. */
function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const all: Record<string, unknown> = {
    iss: ISSUER,
    sub: seeded.users.chatter,
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
    session_id: randomUUID(),
    is_anonymous: false,
    ...overrides,
  };
  // `undefined` means "leave the claim out".
  return Object.fromEntries(Object.entries(all).filter(([, value]) => value !== undefined));
}

function signHs(payload: Record<string, unknown>, secret: string = app.secret): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(secret));
}

function signWith(pair: KeyPair, payload: Record<string, unknown>, kid: string = pair.kid): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: pair.alg, typ: 'JWT', kid }).sign(pair.privateKey);
}

function unsigned(header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const part = (value: unknown) => base64url.encode(JSON.stringify(value));
  return `${part(header)}.${part(payload)}.`;
}

/** Supabase's project API keys: signed with the project secret, `iss: "supabase"`, no `sub`. */
function apiKey(role: 'anon' | 'service_role'): Promise<string> {
  return signHs({ iss: 'supabase', ref: REF, role, iat: NOW - 86_400, exp: NOW + 10 * 365 * 86_400 });
}

// ---------------------------------------------------------------------------------------------------
// Cookies, as @supabase/ssr and the retired auth-helpers write them

function session(accessToken: string) {
  return {
    access_token: accessToken,
    token_type: 'bearer',
    expires_in: 3600,
    expires_at: NOW + 3600,
    refresh_token: 'r3fr3sh-t0k3n',
    user: { id: seeded.users.chatter, aud: 'authenticated', role: 'authenticated' },
  };
}

const jsonCookie = (token: string) => `${SSR_COOKIE}=${encodeURIComponent(JSON.stringify(session(token)))}`;
const base64Value = (token: string) => `base64-${base64url.encode(JSON.stringify(session(token)))}`;
const base64Cookie = (token: string) => `${SSR_COOKIE}=${base64Value(token)}`;

function chunks(token: string): [string, string] {
  const value = base64Value(token);
  const middle = Math.floor(value.length / 2);
  return [`${SSR_COOKIE}.0=${value.slice(0, middle)}`, `${SSR_COOKIE}.1=${value.slice(middle)}`];
}

// ---------------------------------------------------------------------------------------------------
// The two surfaces

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

interface Surface {
  name: string;
  send: (headers: Record<string, string>, body?: unknown) => Promise<Reply>;
  /** Asserts a success reply of this surface. */
  expectSuccess: (reply: Reply) => void;
  /** Asserts an error reply of this surface and returns its message and request id. */
  expectError: (reply: Reply, code: string, status: number) => { message: string; requestId: unknown };
}

async function post(path: string, headers: Record<string, string>, body: unknown): Promise<Reply> {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: JSON.parse(text) };
}

async function get(path: string, headers: Record<string, string>): Promise<Reply> {
  const response = await fetch(`${base}${path}`, { headers });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: JSON.parse(text) };
}

function expectAuthHeader(reply: Reply, code: string) {
  if (code === 'authentication_required') {
    expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer/);
  } else {
    expect(reply.headers.get('www-authenticate')).toBeNull();
  }
}

const rest: Surface = {
  name: 'REST POST /api/v2/sync-notes',
  send: (headers, body = { fanId: FAN_ID }) => post('/api/v2/sync-notes', headers, body),
  expectSuccess(reply) {
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body.status).toBe('success');
    expect(reply.body.data.noteCount).toEqual(expect.any(Number));
  },
  expectError(reply, code, status) {
    expect(reply.status, reply.text).toBe(status);
    expectAuthHeader(reply, code);
    expect(reply.body).toEqual({
      status: 'error',
      error: { code, message: expect.any(String), details: { requestId: expect.any(String) } },
    });
    expect(reply.body.error.details.requestId).toBe(reply.headers.get('x-request-id'));
    return { message: reply.body.error.message, requestId: reply.body.error.details.requestId };
  },
};

const trpc: Surface = {
  name: 'tRPC POST /trpc/notes.sync',
  send: (headers, body = { fanId: FAN_ID }) => post('/trpc/notes.sync', headers, body),
  expectSuccess(reply) {
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body.result.data.status).toBe('success');
    expect(reply.body.result.data.data.noteCount).toEqual(expect.any(Number));
  },
  expectError(reply, code, status) {
    expect(reply.status, reply.text).toBe(status);
    expectAuthHeader(reply, code);
    expect(reply.body.error.data.code).toBe(code);
    expect(reply.body.error.data.httpStatus).toBe(status);
    expect(reply.body.error.data.requestId).toBe(reply.headers.get('x-request-id'));
    expect(reply.text).not.toMatch(/stack|\.ts:\d/);
    return { message: reply.body.error.message, requestId: reply.body.error.data.requestId };
  },
};

const surfaces = [rest, trpc];

// ---------------------------------------------------------------------------------------------------
// The matrix

type Outcome = 'success' | 'authentication_required' | 'permission_denied';

interface Case {
  name: string;
  outcome: Outcome;
  /** The request's credentials; `secret` is what the reply must never echo. */
  request: () => Promise<{ headers: Record<string, string>; secret?: string }>;
  /** The reply's message, when the case pins it. */
  message?: string | RegExp;
}

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` }, secret: token });
const cookie = (header: string, token?: string, extra: Record<string, string> = {}) => ({
  headers: { cookie: header, ...extra },
  ...(token ? { secret: token } : {}),
});

const cases: Case[] = [
  // Valid tokens of both key kinds.
  {
    name: 'valid HS256 (project secret)',
    outcome: 'success',
    request: async () => bearer(await signHs(claims())),
  },
  {
    name: 'valid ES256 (JWKS)',
    outcome: 'success',
    request: async () => bearer(await signWith(es, claims())),
  },
  {
    name: 'valid RS256 (JWKS)',
    outcome: 'success',
    request: async () => bearer(await signWith(rs, claims())),
  },
  {
    name: 'valid token minted by the dev CLI helper',
    outcome: 'success',
    request: async () => bearer(await app.token(seeded.users.viewer)),
  },
  {
    name: 'bearer token with a foreign Origin (bearer tokens are not ambient)',
    outcome: 'success',
    request: async () => {
      const token = await signHs(claims());
      return { headers: { authorization: `Bearer ${token}`, origin: 'https://evil.example' } };
    },
  },

  // No token, or one that is not ours.
  {
    name: 'no token at all',
    outcome: 'authentication_required',
    request: () => Promise.resolve({ headers: {} }),
  },
  {
    name: 'expired',
    outcome: 'authentication_required',
    message: 'The access token has expired.',
    request: async () => bearer(await signHs(claims({ iat: NOW - 7200, exp: NOW - 3600 }))),
  },
  {
    name: 'not yet valid (nbf in the future)',
    outcome: 'authentication_required',
    request: async () => bearer(await signHs(claims({ nbf: NOW + 3600 }))),
  },
  {
    name: 'issued in the future (iat)',
    outcome: 'authentication_required',
    request: async () => bearer(await signHs(claims({ iat: NOW + 3600, exp: NOW + 7200 }))),
  },
  {
    name: 'missing exp',
    outcome: 'authentication_required',
    request: async () => bearer(await signHs(claims({ exp: undefined }))),
  },
  {
    name: 'missing iat',
    outcome: 'authentication_required',
    request: async () => bearer(await signHs(claims({ iat: undefined }))),
  },
  {
    name: 'wrong secret',
    outcome: 'authentication_required',
    request: async () => bearer(await signHs(claims(), 'not-the-project-secret-0123456789abcdef')),
  },
  {
    name: 'alg: none',
    outcome: 'authentication_required',
    request: () => Promise.resolve(bearer(unsigned({ alg: 'none', typ: 'JWT' }, claims()))),
  },
  {
    name: 'HS256 signed with the RS256 public key (PEM) as the HMAC secret',
    outcome: 'authentication_required',
    request: async () => {
      const pem = await exportSPKI(rs.publicKey);
      const token = await new SignJWT(claims())
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: rs.kid })
        .sign(new TextEncoder().encode(pem));
      return bearer(token);
    },
  },
  {
    name: 'HS256 signed with the ES256 public JWK (JSON) as the HMAC secret',
    outcome: 'authentication_required',
    request: async () => {
      const token = await new SignJWT(claims())
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: es.kid })
        .sign(new TextEncoder().encode(JSON.stringify(es.jwk)));
      return bearer(token);
    },
  },
  {
    name: 'ES256 signed by a key outside the JWKS, claiming a listed kid',
    outcome: 'authentication_required',
    request: async () => bearer(await signWith(stranger, claims(), es.kid)),
  },
  {
    name: 'ES256 with an unknown kid',
    outcome: 'authentication_required',
    request: async () => bearer(await signWith(stranger, claims())),
  },
  {
    name: 'wrong aud',
    outcome: 'authentication_required',
    request: async () => bearer(await signHs(claims({ aud: 'some-other-app' }))),
  },
  {
    name: 'wrong iss (another project)',
    outcome: 'authentication_required',
    request: async () => bearer(await signHs(claims({ iss: 'https://other-project.supabase.co/auth/v1' }))),
  },
  {
    name: 'missing sub',
    outcome: 'authentication_required',
    request: async () => bearer(await signHs(claims({ sub: undefined }))),
  },
  {
    name: 'sub that is not a UUID',
    outcome: 'authentication_required',
    request: async () => bearer(await signHs(claims({ sub: 'service-account' }))),
  },
  {
    name: 'role anon',
    outcome: 'authentication_required',
    request: async () => bearer(await signHs(claims({ role: 'anon' }))),
  },
  {
    name: "Supabase's anon key",
    outcome: 'authentication_required',
    message: /API key/,
    request: async () => bearer(await apiKey('anon')),
  },
  {
    name: "Supabase's service_role key",
    outcome: 'authentication_required',
    message: /API key/,
    request: async () => bearer(await apiKey('service_role')),
  },
  {
    name: 'oversized token (validly signed, over the 8 KiB cap)',
    outcome: 'authentication_required',
    request: async () => {
      const token = await signHs(claims({ user_metadata: { padding: 'x'.repeat(7000) } }));
      expect(token.length).toBeGreaterThan(8192);
      return bearer(token);
    },
  },
  {
    name: 'not a JWT at all',
    outcome: 'authentication_required',
    request: () => Promise.resolve(bearer('not-a-jwt')),
  },
  {
    name: 'Authorization that is not Bearer',
    outcome: 'authentication_required',
    request: () => Promise.resolve({ headers: { authorization: 'Basic dXNlcjpwYXNz' } }),
  },
  {
    name: 'a malformed Authorization header is not rescued by a valid cookie',
    outcome: 'authentication_required',
    request: async () => ({
      headers: { authorization: 'Token abc', cookie: base64Cookie(await signHs(claims())) },
    }),
  },
  {
    name: 'anonymous Supabase user (is_anonymous: true)',
    outcome: 'permission_denied',
    request: async () => bearer(await signHs(claims({ is_anonymous: true, email: '' }))),
  },
  {
    name: 'anonymous Supabase user, ES256',
    outcome: 'permission_denied',
    request: async () => bearer(await signWith(es, claims({ is_anonymous: true, email: '' }))),
  },

  // Cookies, no Authorization header.
  {
    name: 'cookie sb-access-token=<jwt> (legacy auth-helpers)',
    outcome: 'success',
    request: async () => cookie(`sb-access-token=${await signHs(claims())}`),
  },
  {
    name: 'cookie sb-<ref>-auth-token=<URL-encoded JSON session>',
    outcome: 'success',
    request: async () => cookie(jsonCookie(await signHs(claims()))),
  },
  {
    name: 'cookie sb-<ref>-auth-token=base64-<base64url JSON session>',
    outcome: 'success',
    request: async () => cookie(base64Cookie(await signWith(es, claims()))),
  },
  {
    name: 'cookie sb-<ref>-auth-token.0 + .1 (chunked base64- value)',
    outcome: 'success',
    request: async () => cookie(chunks(await signWith(rs, claims())).join('; ')),
  },
  {
    name: 'cookie among unrelated cookies, chunks in reverse order',
    outcome: 'success',
    request: async () => {
      const [first, second] = chunks(await signHs(claims()));
      return cookie(`theme=dark; ${second}; _ga=GA1.2.3; ${first}`);
    },
  },
  {
    name: 'cookie with an allowed Origin',
    outcome: 'success',
    request: async () => cookie(base64Cookie(await signHs(claims())), undefined, { origin: ALLOWED_ORIGIN }),
  },
  {
    name: 'malformed cookie: bad base64',
    outcome: 'authentication_required',
    request: () => Promise.resolve(cookie(`${SSR_COOKIE}=base64-!!not*base64!!`)),
  },
  {
    name: 'malformed cookie: base64 of bad JSON',
    outcome: 'authentication_required',
    request: () => Promise.resolve(cookie(`${SSR_COOKIE}=base64-${base64url.encode('{"access_token": ')}`)),
  },
  {
    name: 'malformed cookie: bad JSON',
    outcome: 'authentication_required',
    request: () => Promise.resolve(cookie(`${SSR_COOKIE}=${encodeURIComponent('{"access_token": ')}`)),
  },
  {
    name: 'malformed cookie: only chunk .1',
    outcome: 'authentication_required',
    request: async () => cookie(chunks(await signHs(claims()))[1]),
  },
  {
    name: 'malformed cookie: legacy cookie that is not a JWT',
    outcome: 'authentication_required',
    request: () => Promise.resolve(cookie('sb-access-token=hello')),
  },
  {
    name: 'cookie with an expired token',
    outcome: 'authentication_required',
    message: 'The access token has expired.',
    request: async () => {
      const token = await signHs(claims({ iat: NOW - 7200, exp: NOW - 3600 }));
      return cookie(base64Cookie(token), token);
    },
  },
  {
    name: 'cookie from a foreign Origin',
    outcome: 'permission_denied',
    request: async () =>
      cookie(base64Cookie(await signHs(claims())), undefined, { origin: 'https://evil.example' }),
  },
  {
    name: 'cookie from the origin "null" (sandboxed frame)',
    outcome: 'permission_denied',
    request: async () => cookie(`sb-access-token=${await signHs(claims())}`, undefined, { origin: 'null' }),
  },
];

const statusOf: Record<Exclude<Outcome, 'success'>, number> = {
  authentication_required: 401,
  permission_denied: 403,
};

describe.each(surfaces)('$name', (surface) => {
  test.each(cases)('$name -> $outcome', async ({ request, outcome, message }) => {
    const { headers, secret } = await request();
    const reply = await surface.send(headers);
    if (outcome === 'success') return surface.expectSuccess(reply);

    const error = surface.expectError(reply, outcome, statusOf[outcome]);
    if (message !== undefined) expect(error.message).toMatch(message);
    // The reply never echoes the credential, nor any of its parts.
    if (secret) {
      for (const part of [secret, ...secret.split('.').filter((segment) => segment.length > 8)]) {
        expect(reply.text).not.toContain(part);
      }
    }
  });

  test('authentication comes before validation: bad input without a token is 401', async () => {
    for (const body of [{ fanId: 'not-a-fan-id', unknownField: true }, {}, { fanId: FAN_ID, force: 'yes' }]) {
      surface.expectError(await surface.send({}, body), 'authentication_required', 401);
    }
  });

  test('bad input with a bad token is 401, not 400', async () => {
    const token = await signHs(claims(), 'wrong-secret-wrong-secret-wrong-secret');
    const reply = await surface.send({ authorization: `Bearer ${token}` }, { fanId: 42, extra: 'x' });
    surface.expectError(reply, 'authentication_required', 401);
  });

  test('an allowed Origin with a cookie gets credentialed CORS headers', async () => {
    const reply = await surface.send({
      cookie: base64Cookie(await signHs(claims())),
      origin: ALLOWED_ORIGIN,
    });
    surface.expectSuccess(reply);
    expect(reply.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(reply.headers.get('access-control-allow-credentials')).toBe('true');
  });

  test('a foreign Origin with a cookie gets 403 and no CORS headers', async () => {
    const reply = await surface.send({
      cookie: base64Cookie(await signHs(claims())),
      origin: 'https://evil.example',
    });
    surface.expectError(reply, 'permission_denied', 403);
    expect(reply.headers.get('access-control-allow-origin')).toBeNull();
    expect(reply.headers.get('access-control-allow-credentials')).toBeNull();
  });
});

describe('GET routes', () => {
  test('REST GET /api/v2/accounts: a valid token lists the caller’s accounts', async () => {
    const reply = await get('/api/v2/accounts', { authorization: `Bearer ${await signWith(es, claims())}` });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.body.status).toBe('success');
    expect(reply.body.data).toEqual([expect.objectContaining({ id: seeded.account.id })]);
  });

  test('REST GET /api/v2/accounts: without a token is 401 in the envelope', async () => {
    const reply = await get('/api/v2/accounts', {});
    rest.expectError(reply, 'authentication_required', 401);
  });

  test('REST GET /api/v2/accounts: a cookie works, an expired one does not', async () => {
    const good = await get('/api/v2/accounts', { cookie: jsonCookie(await signHs(claims())) });
    expect(good.status, good.text).toBe(200);
    const expired = await signHs(claims({ iat: NOW - 7200, exp: NOW - 3600 }));
    rest.expectError(
      await get('/api/v2/accounts', { cookie: `sb-access-token=${expired}` }),
      'authentication_required',
      401,
    );
  });

  test('tRPC GET /trpc/accounts.list: valid token 200, none 401', async () => {
    const ok = await get('/trpc/accounts.list', { authorization: `Bearer ${await signWith(rs, claims())}` });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.result.data.status).toBe('success');
    trpc.expectError(await get('/trpc/accounts.list', {}), 'authentication_required', 401);
  });
});

describe('the JWKS', () => {
  test('was fetched from the local key server, and not once per request', () => {
    expect(jwksRequests).toBeGreaterThanOrEqual(1);
    expect(jwksRequests).toBeLessThanOrEqual(3);
  });
});

describe('pinned 401 bodies', () => {
  function withoutRequestId(body: any): any {
    const copy = structuredClone(body);
    if (copy.error?.details?.requestId) copy.error.details.requestId = '<requestId>';
    if (copy.error?.data?.requestId) copy.error.data.requestId = '<requestId>';
    return copy;
  }

  test('REST, no token', async () => {
    const reply = await rest.send({});
    expect(reply.headers.get('www-authenticate')).toMatchInlineSnapshot(
      `"Bearer realm="fannotes", error="invalid_token""`,
    );
    expect(withoutRequestId(reply.body)).toMatchInlineSnapshot(`
      {
        "error": {
          "code": "authentication_required",
          "details": {
            "requestId": "<requestId>",
          },
          "message": "An access token is required.",
        },
        "status": "error",
      }
    `);
  });

  test('tRPC, expired token', async () => {
    const reply = await trpc.send({
      authorization: `Bearer ${await signHs(claims({ iat: NOW - 7200, exp: NOW - 3600 }))}`,
    });
    expect(reply.headers.get('www-authenticate')).toMatchInlineSnapshot(
      `"Bearer realm="fannotes", error="invalid_token""`,
    );
    expect(withoutRequestId(reply.body)).toMatchInlineSnapshot(`
      {
        "error": {
          "code": -32001,
          "data": {
            "code": "authentication_required",
            "httpStatus": 401,
            "requestId": "<requestId>",
          },
          "message": "The access token has expired.",
        },
      }
    `);
  });
});
