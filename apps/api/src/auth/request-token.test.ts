import { describe, expect, test } from 'vitest';
import { ApiError } from '../errors.ts';
import { tokenFromRequest } from './request-token.ts';

const BEARER_TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJiZWFyZXIifQ.c2ln';
const COOKIE_TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjb29raWUifQ.c2ln';
const cookie = `theme=dark; sb-access-token=${COOKIE_TOKEN}`;
const ALLOWED = ['https://app.fannotes.example'];

function thrown(run: () => unknown): ApiError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error('expected tokenFromRequest to throw');
}

const shape = (error: ApiError) => ({
  code: error.apiCode,
  status: error.httpStatus,
  message: error.message,
});

describe('bearer tokens', () => {
  test('a bearer token is read from the Authorization header', () => {
    expect(tokenFromRequest({ authorization: `Bearer ${BEARER_TOKEN}` }, ALLOWED)).toEqual({
      token: BEARER_TOKEN,
      via: 'bearer',
    });
  });

  test('the Bearer scheme is case-insensitive and surrounding spaces do not matter', () => {
    for (const authorization of [
      `bearer ${BEARER_TOKEN}`,
      `BEARER   ${BEARER_TOKEN}  `,
      ` Bearer\t${BEARER_TOKEN}`,
    ]) {
      expect(tokenFromRequest({ authorization }, ALLOWED)?.token).toBe(BEARER_TOKEN);
    }
  });

  test('the bearer token wins over a cookie, from any origin', () => {
    const source = tokenFromRequest(
      { authorization: `Bearer ${BEARER_TOKEN}`, cookie, origin: 'https://evil.example' },
      ALLOWED,
    );
    expect(source).toEqual({ token: BEARER_TOKEN, via: 'bearer' });
  });

  test.each([
    ['a scheme without a token', 'Bearer'],
    ['two tokens', `Bearer ${BEARER_TOKEN} ${BEARER_TOKEN}`],
    ['Basic credentials', 'Basic dXNlcjpwYXNz'],
    ['another scheme', `Token ${BEARER_TOKEN}`],
    ['a token without a scheme', BEARER_TOKEN],
    ['characters a token cannot hold', 'Bearer abc,def'],
  ])('an Authorization header with %s is 401, even with a good cookie', (_name, authorization) => {
    const error = thrown(() => tokenFromRequest({ authorization, cookie }, ALLOWED));
    expect(shape(error)).toMatchInlineSnapshot(`
      {
        "code": "authentication_required",
        "message": "The Authorization header must be "Bearer <access token>".",
        "status": 401,
      }
    `);
  });

  test('an empty Authorization header counts as absent', () => {
    expect(tokenFromRequest({ authorization: '  ', cookie }, ALLOWED)).toEqual({
      token: COOKIE_TOKEN,
      via: 'cookie',
    });
  });
});

describe('cookie tokens', () => {
  test('a cookie without Origin (curl, the extension background) is accepted', () => {
    expect(tokenFromRequest({ cookie }, ALLOWED)).toEqual({ token: COOKIE_TOKEN, via: 'cookie' });
  });

  test('a cookie from an allowed origin is accepted', () => {
    expect(tokenFromRequest({ cookie, origin: 'https://app.fannotes.example' }, ALLOWED)?.via).toBe('cookie');
  });

  test('allowed origins written as URLs or in another case still match', () => {
    const allowed = ['https://App.FanNotes.example/', 'chrome-extension://abcdefghijklmnopabcdefghijklmnop/'];
    expect(tokenFromRequest({ cookie, origin: 'https://app.fannotes.example' }, allowed)?.via).toBe('cookie');
    expect(
      tokenFromRequest({ cookie, origin: 'chrome-extension://abcdefghijklmnopabcdefghijklmnop' }, allowed)
        ?.via,
    ).toBe('cookie');
  });

  test.each([
    ['a foreign site', 'https://evil.example'],
    ['a look-alike subdomain', 'https://app.fannotes.example.evil.example'],
    ['another scheme', 'http://app.fannotes.example'],
    ['another port', 'https://app.fannotes.example:8443'],
    ['an opaque origin', 'null'],
    ['an unlisted extension', 'chrome-extension://ponmlkjihgfedcbaponmlkjihgfedcba'],
  ])('a cookie from %s is 403 permission_denied', (_name, origin) => {
    const error = thrown(() => tokenFromRequest({ cookie, origin }, ALLOWED));
    expect(shape(error)).toMatchInlineSnapshot(`
      {
        "code": "permission_denied",
        "message": "Cookie authentication is not allowed from this origin.",
        "status": 403,
      }
    `);
  });

  test('with no allowed origins, only requests without Origin may use cookies', () => {
    expect(tokenFromRequest({ cookie }, [])?.via).toBe('cookie');
    expect(
      shape(thrown(() => tokenFromRequest({ cookie, origin: 'https://app.fannotes.example' }, []))),
    ).toMatchObject({
      status: 403,
    });
  });
});

describe('no token', () => {
  test('a request without a token is null, so the caller answers 401', () => {
    expect(tokenFromRequest({}, ALLOWED)).toBeNull();
    expect(tokenFromRequest({ cookie: 'theme=dark' }, ALLOWED)).toBeNull();
  });

  test('a foreign origin without any session cookie is null, not 403', () => {
    expect(tokenFromRequest({ cookie: 'theme=dark', origin: 'https://evil.example' }, ALLOWED)).toBeNull();
  });
});
