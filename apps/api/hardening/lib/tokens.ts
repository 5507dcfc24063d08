import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { base64url, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { mintToken } from '../../src/auth/dev-keys.ts';

// The API processes run in production mode against a made-up Supabase project: HS256 tokens with
// this secret, and ES256/RS256 tokens from a key set served by a local node:http server the tests
// start, stop and rotate.

export const SUPABASE_URL = 'http://127.0.0.1:54321';
export const ISSUER = `${SUPABASE_URL}/auth/v1`;
export const JWT_SECRET = randomBytes(32).toString('base64url');

/** A valid HS256 access token for the user (the dev CLI's minting, with this project's secret). */
export function tokenFor(userId: string, options: { expiresInSec?: number } = {}): Promise<string> {
  return mintToken({ secret: JWT_SECRET, issuer: ISSUER, userId, ...options });
}

/** The claims of a Supabase access token, now; `undefined` leaves a claim out. */
export function claims(userId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  const all: Record<string, unknown> = {
    iss: ISSUER,
    sub: userId,
    aud: 'authenticated',
    exp: now + 3600,
    iat: now - 10,
    email: 'someone@example.com',
    role: 'authenticated',
    session_id: randomUUID(),
    is_anonymous: false,
    ...overrides,
  };
  return Object.fromEntries(Object.entries(all).filter(([, value]) => value !== undefined));
}

export function signHs(payload: Record<string, unknown>, secret: string = JWT_SECRET): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(secret));
}

export function unsigned(payload: Record<string, unknown>): string {
  return `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${base64url.encode(JSON.stringify(payload))}.`;
}

export interface SigningKey {
  kid: string;
  alg: 'ES256' | 'RS256';
  privateKey: CryptoKey;
  jwk: JWK;
}

export async function signingKey(
  alg: 'ES256' | 'RS256',
  kid = `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}`,
) {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return {
    kid,
    alg,
    privateKey,
    jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' },
  } satisfies SigningKey;
}

export function signWith(
  key: SigningKey,
  payload: Record<string, unknown>,
  kid: string = key.kid,
): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, typ: 'JWT', kid }).sign(key.privateKey);
}

export type KeySetMode = 'ok' | 'hang' | 'error';

/**
 * A JWKS endpoint on 127.0.0.1 that counts its requests. `stop()` closes the port (connection refused),
 * `start()` opens the same port again; `mode` 'hang' accepts and never answers, 'error' answers 500.
 */
export class KeySetServer {
  keys: JWK[];
  mode: KeySetMode = 'ok';
  /** Time of every request served (ms since epoch), in order. */
  readonly requests: number[] = [];
  private server: Server | undefined;
  private readonly hanging: ServerResponse[] = [];
  private port = 0;

  constructor(keys: JWK[]) {
    this.keys = keys;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/auth/v1/.well-known/jwks.json`;
  }

  /** Requests seen since `since` (ms since epoch). */
  requestsSince(since: number): number {
    return this.requests.filter((at) => at >= since).length;
  }

  async start(): Promise<void> {
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      this.requests.push(Date.now());
      if (this.mode === 'hang') return void this.hanging.push(res);
      if (this.mode === 'error') return void res.writeHead(500).end('upstream failure');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: this.keys }));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const res of this.hanging.splice(0)) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
