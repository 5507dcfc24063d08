import { describe, expect, test } from 'vitest';
import { fakeJwt } from '../test/helpers.ts';
import { readClaims, sessionFrom, tokenFromCookies } from './session.ts';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const TOKEN = fakeJwt({ sub: '11111111-1111-4111-8111-111111111111', exp: NOW / 1000 + 3600 });
const OTHER = fakeJwt({ sub: '22222222-2222-4222-8222-222222222222', exp: NOW / 1000 + 3600 });
const session = (token: string) =>
  JSON.stringify({ access_token: token, refresh_token: 'r', token_type: 'bearer' });
const base64url = (text: string) => btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

describe('tokenFromCookies', () => {
  test.each([
    ['an @supabase/ssr cookie holding JSON', [{ name: 'sb-abcd-auth-token', value: session(TOKEN) }]],
    [
      'the same, percent-encoded as cookie libraries write it',
      [{ name: 'sb-abcd-auth-token', value: encodeURIComponent(session(TOKEN)) }],
    ],
    ['a base64- cookie', [{ name: 'sb-abcd-auth-token', value: `base64-${base64url(session(TOKEN))}` }]],
    [
      'a chunked base64- cookie, chunks in any order',
      (() => {
        const value = `base64-${base64url(session(TOKEN))}`;
        const cut = Math.floor(value.length / 2);
        return [
          { name: 'sb-abcd-auth-token.1', value: value.slice(cut) },
          { name: 'sb-abcd-auth-token.0', value: value.slice(0, cut) },
        ];
      })(),
    ],
    [
      'an older auth-helpers session array',
      [{ name: 'sb-abcd-auth-token', value: JSON.stringify([TOKEN, 'refresh']) }],
    ],
    ['the legacy sb-access-token', [{ name: 'sb-access-token', value: TOKEN }]],
  ])('reads %s', (_name, cookies) => {
    expect(tokenFromCookies(cookies)).toBe(TOKEN);
  });

  test('the ssr cookie wins over a legacy one left from before a migration', () => {
    expect(
      tokenFromCookies([
        { name: 'sb-access-token', value: OTHER },
        { name: 'sb-abcd-auth-token', value: session(TOKEN) },
      ]),
    ).toBe(TOKEN);
  });

  test('a malformed ssr cookie falls through to the legacy one', () => {
    expect(
      tokenFromCookies([
        { name: 'sb-abcd-auth-token', value: 'base64-***' },
        { name: 'sb-access-token', value: TOKEN },
      ]),
    ).toBe(TOKEN);
  });

  test.each([
    ['no cookies', []],
    ['unrelated cookies', [{ name: 'session', value: TOKEN }]],
    ['a lost first chunk', [{ name: 'sb-abcd-auth-token.1', value: session(TOKEN) }]],
    [
      'a session without a JWT',
      [{ name: 'sb-abcd-auth-token', value: JSON.stringify({ access_token: 'nope' }) }],
    ],
    ['broken base64', [{ name: 'sb-abcd-auth-token', value: 'base64-%%%' }]],
    ['invalid UTF-8 inside base64', [{ name: 'sb-abcd-auth-token', value: `base64-${btoa('\xff\xfe')}` }]],
    ['a legacy cookie that is no JWT', [{ name: 'sb-access-token', value: 'hello' }]],
  ])('finds nothing in %s', (_name, cookies) => {
    expect(tokenFromCookies(cookies)).toBeNull();
  });
});

describe('sessions', () => {
  test('claims are read without verifying (the API verifies)', () => {
    expect(readClaims(TOKEN)).toEqual({
      userId: '11111111-1111-4111-8111-111111111111',
      expiresAt: NOW + 3_600_000,
    });
    expect(readClaims('a.b.c')).toBeNull();
  });

  test('an expired token is no session but still names its user (their outbox stays theirs)', () => {
    const expired = fakeJwt({ sub: '11111111-1111-4111-8111-111111111111', exp: NOW / 1000 - 1 });
    expect(sessionFrom(expired, NOW, 'Sign in at https://app.example.com.')).toEqual({
      ok: false,
      message: 'Your session has expired. Sign in at https://app.example.com.',
      userId: '11111111-1111-4111-8111-111111111111',
    });
    expect(sessionFrom(TOKEN, NOW, '')).toEqual({
      ok: true,
      token: TOKEN,
      userId: '11111111-1111-4111-8111-111111111111',
    });
    expect(sessionFrom(null, NOW, 'hint')).toEqual({ ok: false, message: 'hint', userId: null });
  });
});
