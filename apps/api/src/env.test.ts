import { expect, test } from 'vitest';
import { loadConfig } from './env.ts';

test('with no settings at all the server runs in development mode on the embedded database', () => {
  const config = loadConfig({ INIT_CWD: '/home/me/fannotes' });
  expect(config).toMatchObject({
    PORT: 3000,
    DATA_DIR: '/home/me/fannotes/.data',
    host: '127.0.0.1',
    SYNC_MIN_INTERVAL_MS: 30_000,
    SYNC_FORCE_FLOOR_MS: 5_000,
  });
  expect(config.DATABASE_URL).toBeUndefined();
  expect(config.auth.kind).toBe('development');
});

test('production refuses to start without Supabase settings', () => {
  expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/SUPABASE_URL/);
});

test('Supabase settings derive the issuer and the JWKS URL', () => {
  const config = loadConfig({
    NODE_ENV: 'production',
    SUPABASE_URL: 'https://abc.supabase.co/',
    SUPABASE_JWT_SECRET: 'secret',
  });
  expect(config.auth).toEqual({
    kind: 'supabase',
    supabaseUrl: 'https://abc.supabase.co',
    jwtSecret: 'secret',
    jwksUrl: 'https://abc.supabase.co/auth/v1/.well-known/jwks.json',
  });
  expect(config.host).toBe('0.0.0.0');
});

test('a bad variable is named in the error', () => {
  expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
  expect(() => loadConfig({ ALLOWED_ORIGINS: 'not a url' })).toThrow(/ALLOWED_ORIGINS/);
  expect(() => loadConfig({ SUPABASE_JWT_SECRET: 'x' })).toThrow(/SUPABASE_URL is required/);
});

test('allowed origins are compared as origins: a trailing slash or path is dropped', () => {
  expect(
    loadConfig({ ALLOWED_ORIGINS: 'https://App.example.com/, http://localhost:5173/app' }).ALLOWED_ORIGINS,
  ).toEqual(['https://app.example.com', 'http://localhost:5173']);
});

test('PUBLIC_URL is kept without trailing slashes, and a bad one is named', () => {
  expect(loadConfig({ PUBLIC_URL: 'https://api.example.com/' }).PUBLIC_URL).toBe('https://api.example.com');
  expect(loadConfig({}).PUBLIC_URL).toBeUndefined();
  expect(() => loadConfig({ PUBLIC_URL: 'api.example.com' })).toThrow(/PUBLIC_URL/);
});
