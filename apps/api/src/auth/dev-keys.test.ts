import { mkdtemp, readFile, rm, stat, writeFile, mkdir, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { ApiError } from '../errors.ts';
import { DEV_SUPABASE_URL, loadOrCreateDevSecret, mintToken } from './dev-keys.ts';
import { createTokenVerifier } from './verify-token.ts';

const USER_ID = '7b5e4a52-4b39-4b63-9a64-1a2b3c4d5e6f';
const ISSUER = `${DEV_SUPABASE_URL}/auth/v1`;
const NOW = 1_750_000_000;

let root: string;
let dirs = 0;
const freshDir = () => join(root, `data-${++dirs}`, 'nested');

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fannotes-dev-keys-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('loadOrCreateDevSecret', () => {
  test('the first start makes a private 48-byte secret under the data directory, creating it', async () => {
    const dataDir = freshDir();
    const secret = await loadOrCreateDevSecret(dataDir);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(Buffer.from(secret, 'base64url')).toHaveLength(48);
    const file = join(dataDir, 'dev-jwt-secret');
    expect((await readFile(file, 'utf8')).trim()).toBe(secret);
    if (process.platform !== 'win32') expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(dataDir)).toEqual(['dev-jwt-secret']);
  });

  test('later starts get the same secret, so minted tokens survive a restart', async () => {
    const dataDir = freshDir();
    const first = await loadOrCreateDevSecret(dataDir);
    expect(await loadOrCreateDevSecret(dataDir)).toBe(first);
  });

  test('processes starting together agree on one secret', async () => {
    const dataDir = freshDir();
    const secrets = await Promise.all(Array.from({ length: 16 }, () => loadOrCreateDevSecret(dataDir)));
    expect(new Set(secrets).size).toBe(1);
    expect(await readdir(dataDir)).toEqual(['dev-jwt-secret']);
  });

  test('an existing secret file is used as it is', async () => {
    const dataDir = freshDir();
    await mkdir(dataDir, { recursive: true });
    const mine = 'a-secret-somebody-put-here-on-purpose-0123456789';
    await writeFile(join(dataDir, 'dev-jwt-secret'), `${mine}\n`);
    expect(await loadOrCreateDevSecret(dataDir)).toBe(mine);
  });

  test('a truncated secret file is an error that says how to fix it', async () => {
    const dataDir = freshDir();
    await mkdir(dataDir, { recursive: true });
    await writeFile(join(dataDir, 'dev-jwt-secret'), 'short');
    await expect(loadOrCreateDevSecret(dataDir)).rejects.toThrow(/delete the file/);
  });
});

describe('mintToken', () => {
  const secret = 'dev-secret-for-tests-dev-secret-for-tests-0123456789';

  test('a minted token carries the claims of a Supabase access token', async () => {
    const token = await mintToken({
      secret,
      issuer: ISSUER,
      userId: USER_ID,
      email: 'dev@example.com',
      now: NOW,
    });
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(decodeJwt(token)).toEqual({
      iss: 'http://127.0.0.1:54321/auth/v1',
      sub: USER_ID,
      aud: 'authenticated',
      iat: NOW,
      exp: NOW + 3600,
      email: 'dev@example.com',
      phone: '',
      app_metadata: { provider: 'email', providers: ['email'] },
      user_metadata: {},
      role: 'authenticated',
      aal: 'aal1',
      amr: [{ method: 'password', timestamp: NOW }],
      session_id: expect.stringMatching(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      ),
      is_anonymous: false,
    });
  });

  test('a minted token passes the production verifier with the development secret', async () => {
    const dataDir = freshDir();
    const devSecret = await loadOrCreateDevSecret(dataDir);
    const token = await mintToken({ secret: devSecret, issuer: ISSUER, userId: USER_ID, now: NOW });
    const verify = createTokenVerifier({
      issuer: ISSUER,
      jwtSecret: devSecret,
      now: () => new Date(NOW * 1000),
    });
    expect(await verify(token)).toEqual({
      userId: USER_ID,
      email: null,
      isAnonymous: false,
      sessionId: decodeJwt(token).session_id,
      tokenName: null,
    });
  });

  test('a minted token expires after expiresInSec', async () => {
    const token = await mintToken({ secret, issuer: ISSUER, userId: USER_ID, expiresInSec: 60, now: NOW });
    const at = (seconds: number) =>
      createTokenVerifier({
        issuer: ISSUER,
        jwtSecret: secret,
        clockToleranceSec: 0,
        now: () => new Date(seconds * 1000),
      });
    await expect(at(NOW + 59)(token)).resolves.toMatchObject({ userId: USER_ID });
    const error: unknown = await at(NOW + 60)(token).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).message).toBe('The access token has expired.');
  });

  test('each minted token is a new session', async () => {
    const one = await mintToken({ secret, issuer: ISSUER, userId: USER_ID, now: NOW });
    const two = await mintToken({ secret, issuer: ISSUER, userId: USER_ID, now: NOW });
    expect(decodeJwt(one).session_id).not.toBe(decodeJwt(two).session_id);
  });

  test('a user id that is not a UUID is refused before anything is signed', async () => {
    await expect(mintToken({ secret, issuer: ISSUER, userId: 'alice' })).rejects.toThrow(/must be a UUID/);
    await expect(mintToken({ secret, issuer: ISSUER, userId: USER_ID, expiresInSec: 0 })).rejects.toThrow(
      /positive integer/,
    );
  });
});
