import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  jwtVerify,
  type JWSHeaderParameters,
  type JWTPayload,
  type JWTVerifyOptions,
  type FlattenedJWSInput,
  type JWTVerifyGetKey,
} from 'jose';
import { DisplayName, UserId } from '@fannotes/contract';
import { ApiError } from '../errors.ts';

export interface AuthConfig {
  /** `${SUPABASE_URL}/auth/v1`: the `iss` of every access token the project issues. */
  issuer: string;
  /** HS256 shared secret (Supabase's legacy JWT secret), used as UTF-8 bytes exactly as Supabase does. */
  jwtSecret?: string;
  /** ES256/RS256 public keys (Supabase's asymmetric signing keys): `<issuer>/.well-known/jwks.json`. */
  jwksUrl?: string;
  /** Default `authenticated`. */
  audience?: string;
  /** Default 30. */
  clockToleranceSec?: number;
  /** Default 8192; checked before any parsing. */
  maxTokenBytes?: number;
  /** Default 30 000: an unknown `kid` refetches the key set at most once per cooldown. */
  jwksCooldownMs?: number;
  /** Default 3 000. */
  jwksTimeoutMs?: number;
  /** Default 600 000: how long a fetched key set is trusted before it is refreshed. */
  jwksCacheMaxAgeMs?: number;
  /**
   * Default 60 000; 0 disables. How long a verified token is accepted again without its signature being
   * checked, so also how long a key removed from the key set keeps its tokens working.
   */
  cacheTtlMs?: number;
  /** Default 1 000: past it, the oldest remembered token makes room for the new one. */
  cacheMaxEntries?: number;
  /** The clock token times (`exp`, `iat`, `nbf`) and the cache's ages are read from; tests pass their own. */
  now?: () => Date;
}

export interface AuthUser {
  /** The Supabase user id (`sub`), lower-case UUID. */
  userId: string;
  email: string | null;
  /** A Supabase anonymous sign-in: authenticated, but not allowed to use this API. */
  isAnonymous: boolean;
  sessionId: string | null;
  /**
   * The name the token gives the user: `user_metadata.full_name`, else `user_metadata.name`, else the
   * email's local part; null when it has none. Trimmed, control characters dropped, at most 80
   * characters. Shown to teammates unless the member set their own (services/profiles.ts).
   */
  tokenName: string | null;
}

export type TokenVerifier = (token: string) => Promise<AuthUser>;

const message = {
  missing: 'The access token is missing.',
  expired: 'The access token has expired.',
  invalid: 'The access token is invalid.',
  apiKey: 'The access token is a project API key, not a user session.',
} as const;

const keySetUnreachable = 'The key set cannot be reached.';
const KEY_SET_RETRY_AFTER_SECONDS = 5;

// Pinned per key path: a token never chooses how it is checked beyond picking one of these.
const SECRET_ALGORITHMS = ['HS256'];
const KEY_SET_ALGORITHMS = ['ES256', 'RS256'];

/**
 * Errors a key set lookup raises because of the token (its `kid` or `alg`), not because the key set is
 * unusable. Everything else thrown while resolving a key means the key set could not be fetched or read.
 */
const TOKEN_LOOKUP_ERRORS: ReadonlySet<string> = new Set([
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JOSE_NOT_SUPPORTED',
]);

/**
 * Builds the one function that turns a Supabase access token into the caller's identity. Every
 * failure is an ApiError: `authentication_required` for anything wrong with the token (the message says
 * only missing, expired, invalid, or "an API key, not a user"; never which claim failed), and
 * `service_unavailable` when the key set the token needs cannot be fetched, so clients retry instead of
 * signing the user out.
 */
export function createTokenVerifier(config: AuthConfig): TokenVerifier {
  if (!config.jwtSecret && !config.jwksUrl) {
    throw new Error(
      'Token verification needs a JWT secret or a JWKS URL (SUPABASE_JWT_SECRET / SUPABASE_JWKS_URL).',
    );
  }
  if (!config.issuer) throw new Error('Token verification needs the issuer (`<SUPABASE_URL>/auth/v1`).');

  const clockTolerance = config.clockToleranceSec ?? 30;
  const maxTokenBytes = config.maxTokenBytes ?? 8192;
  const secret = config.jwtSecret ? new TextEncoder().encode(config.jwtSecret) : undefined;
  const keySet = config.jwksUrl ? createKeySetResolver(config.jwksUrl, config) : undefined;
  const verified = createVerifiedTokens(
    config.cacheTtlMs ?? 60_000,
    config.cacheMaxEntries ?? 1_000,
    clockTolerance,
  );

  const claimRules = (currentDate: Date): JWTVerifyOptions => ({
    issuer: config.issuer,
    audience: config.audience ?? 'authenticated',
    requiredClaims: ['exp', 'sub', 'iat'],
    clockTolerance,
    currentDate,
  });

  return async function verifyToken(token: string): Promise<AuthUser> {
    if (typeof token !== 'string' || token.length === 0) throw failure('missing');
    // Before any decoding: a huge token must cost no more than its length check.
    if (token.length > maxTokenBytes || Buffer.byteLength(token, 'utf8') > maxTokenBytes) {
      throw failure('invalid', 'token over size cap');
    }
    const now = config.now?.() ?? new Date();
    const remembered = verified?.get(token, now);
    if (remembered) return remembered;

    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch (error) {
      throw failure('invalid', error);
    }

    let payload: JWTPayload;
    try {
      if (alg === 'HS256' && secret) {
        ({ payload } = await jwtVerify(token, secret, { ...claimRules(now), algorithms: SECRET_ALGORITHMS }));
      } else if ((alg === 'ES256' || alg === 'RS256') && keySet) {
        ({ payload } = await jwtVerify(token, keySet, {
          ...claimRules(now),
          algorithms: KEY_SET_ALGORITHMS,
        }));
      } else {
        throw failure(
          'invalid',
          `alg ${typeof alg === 'string' ? alg.slice(0, 16) : typeof alg} not accepted`,
        );
      }
    } catch (error) {
      throw toAuthError(error);
    }

    const user = userFromClaims(payload, now, clockTolerance);
    // `exp` is one of claimRules' requiredClaims: jose has checked it is a number.
    verified?.set(token, user, payload.exp!, now);
    return user;
  };
}

interface VerifiedToken {
  user: AuthUser;
  verifiedAt: number;
  exp: number;
}

/**
 * The tokens this verifier accepted lately, by their exact string: a chatter's extension sends the same
 * token on every request until it is refreshed, and only the first of them in each `ttlMs` pays for the
 * signature check.
 *
 * A hit trusts that these exact bytes passed every check above (signature, issuer, audience, role, sub,
 * times) at `verifiedAt`, and nothing more; it answers only while the clock reads within
 * [verifiedAt, verifiedAt + ttlMs) and before `exp` plus the tolerance, counted as jose counts it. Claims
 * that held at `verifiedAt` still hold at any later time up to `exp` (`nbf` and `iat` only move from
 * refused to accepted), so outside that window the entry is dropped and the token verified afresh: an
 * expired token, or one seen again after the clock moved back, gets the same answer as with no cache.
 * What the cache costs is `ttlMs`: a key removed from the key set keeps its tokens accepted that long.
 * Failures are never stored, so every 401 and 503 is a fresh answer. At most `maxEntries`, the oldest
 * inserted evicted first (a Map iterates in insertion order).
 */
function createVerifiedTokens(ttlMs: number, maxEntries: number, clockTolerance: number) {
  if (!(ttlMs > 0 && maxEntries > 0)) return undefined;
  const entries = new Map<string, VerifiedToken>();
  return {
    get(token: string, now: Date): AuthUser | undefined {
      const entry = entries.get(token);
      if (!entry) return undefined;
      const at = now.getTime();
      const valid =
        at >= entry.verifiedAt &&
        at - entry.verifiedAt < ttlMs &&
        entry.exp > Math.floor(at / 1000) - clockTolerance;
      if (valid) return entry.user;
      entries.delete(token);
      return undefined;
    },
    set(token: string, user: AuthUser, exp: number, now: Date): void {
      entries.delete(token);
      if (entries.size >= maxEntries) {
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
      // Frozen: every request presenting this token gets this same object.
      entries.set(token, { user: Object.freeze(user), verifiedAt: now.getTime(), exp });
    },
  };
}

/**
 * Anonymous Supabase users hold valid tokens but may not use the API: 403, not 401, because refreshing
 * the same session would not help; the user has to sign in with an account.
 */
export function requireRegisteredUser(user: AuthUser): AuthUser {
  if (user.isAnonymous) {
    throw new ApiError('permission_denied', 'Anonymous users cannot use this API; sign in with an account.');
  }
  return user;
}

// Runs only on a payload whose signature, issuer, audience and times jose has already checked.
function userFromClaims(payload: JWTPayload, now: Date, clockTolerance: number): AuthUser {
  if (payload.role !== 'authenticated') throw failure('invalid', `role ${String(payload.role).slice(0, 32)}`);
  const userId = UserId.safeParse(payload.sub);
  if (!userId.success) throw failure('invalid', 'sub is not a UUID');
  // jose only checks that `iat` is a number; a token issued in the future is forged or from a broken clock.
  if (typeof payload.iat !== 'number' || payload.iat > now.getTime() / 1000 + clockTolerance) {
    throw failure('invalid', 'iat in the future');
  }
  return {
    userId: userId.data,
    email: typeof payload.email === 'string' && payload.email !== '' ? payload.email : null,
    isAnonymous: payload.is_anonymous === true,
    sessionId:
      typeof payload.session_id === 'string' && payload.session_id !== '' ? payload.session_id : null,
    tokenName: nameFromClaims(payload),
  };
}

const MAX_NAME_LENGTH = 80;

/** See AuthUser.tokenName. */
export function nameFromClaims(payload: JWTPayload): string | null {
  const metadata =
    typeof payload.user_metadata === 'object' && payload.user_metadata !== null
      ? (payload.user_metadata as Record<string, unknown>)
      : {};
  const email = typeof payload.email === 'string' ? payload.email : '';
  for (const candidate of [metadata.full_name, metadata.name, email.split('@')[0]]) {
    const name = cleanName(candidate);
    if (name) return name;
  }
  return null;
}

function cleanName(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const name = value
    .replace(/\s+/g, ' ')
    .replace(/\p{Cc}/gu, '')
    .trim();
  const parsed = DisplayName.safeParse([...name].slice(0, MAX_NAME_LENGTH).join(''));
  return parsed.success ? parsed.data : null;
}

function failure(reason: keyof typeof message, cause?: unknown): ApiError {
  return new ApiError('authentication_required', message[reason], { cause: safeCause(cause) });
}

function toAuthError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const code = joseCode(error);
  if (code === 'ERR_JWT_EXPIRED') return failure('expired', error);
  // jose checks claims only after the signature, so a role found in `payload` was signed by the project.
  if (
    code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' &&
    isApiKeyPayload((error as { payload?: unknown }).payload)
  ) {
    return new ApiError('authentication_required', message.apiKey, { cause: safeCause(error) });
  }
  return failure('invalid', error);
}

/** Supabase's anon and service_role keys: signed by the project, `iss: "supabase"`, no `sub`. */
function isApiKeyPayload(payload: unknown): boolean {
  if (typeof payload !== 'object' || payload === null) return false;
  const role = (payload as { role?: unknown }).role;
  return role === 'anon' || role === 'service_role';
}

/**
 * What may reach logs: jose's error code and message, never the error itself, whose `payload` holds the
 * token's claims (email and the like).
 */
function safeCause(cause: unknown): Error | undefined {
  if (cause === undefined) return undefined;
  if (typeof cause === 'string') return new Error(cause);
  const code = joseCode(cause);
  const name = cause instanceof Error ? cause.name : typeof cause;
  const text = cause instanceof Error ? cause.message.slice(0, 200) : '';
  return new Error(`${code ?? name}: ${text}`);
}

function joseCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('ERR_') ? code : undefined;
}

/**
 * jose's remote key set, plus stale-if-error: once keys have been fetched, an unreachable key set
 * endpoint never stops tokens signed by those keys from verifying.
 *
 *   fresh ──(cacheMaxAge passes, or an unknown kid after the cooldown)──> refetch ──ok──> fresh
 *                                                                           └─fails──> failing
 *   failing: answer from the last good keys without asking again until the cooldown ends, then refetch.
 *            A kid those keys lack is 503, not 401: it may be a new key we cannot see yet.
 *   cold (never fetched) and the fetch fails: 503; the next request tries again.
 */
function createKeySetResolver(jwksUrl: string, config: AuthConfig): JWTVerifyGetKey {
  let url: URL;
  try {
    url = new URL(jwksUrl);
  } catch {
    throw new Error(`The JWKS URL is not a URL: ${jwksUrl}`);
  }
  const cooldownMs = config.jwksCooldownMs ?? 30_000;
  // Made for the first token that needs it: jose's remote key set loads Node's fetch (undici, about
  // 1 MB of heap), which a process that only ever sees HS256 tokens has no use for.
  let remoteSet: ReturnType<typeof createRemoteJWKSet> | undefined;
  const remote = () =>
    (remoteSet ??= createRemoteJWKSet(url, {
      cooldownDuration: cooldownMs,
      timeoutDuration: config.jwksTimeoutMs ?? 3_000,
      cacheMaxAge: config.jwksCacheMaxAgeMs ?? 600_000,
    }));

  // Wall-clock time, as jose's own cache uses: this is about our cache, not about the token's times.
  let failedAt = 0;
  let lastGood: LocalKeySet | undefined;

  return async (header, token) => {
    if (lastGood && Date.now() - failedAt < cooldownMs) {
      return fromLastGood(lastGood, header, token, 'in cooldown');
    }
    try {
      const key = await remote()(header, token);
      lastGood = undefined;
      return key;
    } catch (error) {
      const code = joseCode(error);
      if (code !== undefined && TOKEN_LOOKUP_ERRORS.has(code)) {
        lastGood = undefined;
        throw error;
      }
      const held = remote().jwks();
      if (!held) throw unavailable(error);
      failedAt = Date.now();
      lastGood ??= createLocalJWKSet(held);
      return fromLastGood(lastGood, header, token, error);
    }
  };
}

type LocalKeySet = ReturnType<typeof createLocalJWKSet>;

async function fromLastGood(
  keys: LocalKeySet,
  header: JWSHeaderParameters,
  token: FlattenedJWSInput,
  cause: unknown,
): ReturnType<LocalKeySet> {
  try {
    return await keys(header, token);
  } catch (error) {
    if (joseCode(error) === 'ERR_JWKS_NO_MATCHING_KEY') throw unavailable(cause);
    throw error;
  }
}

function unavailable(cause: unknown): ApiError {
  return new ApiError('service_unavailable', keySetUnreachable, {
    retryAfterSeconds: KEY_SET_RETRY_AFTER_SECONDS,
    cause: safeCause(cause),
  });
}
