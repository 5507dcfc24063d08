import { resolve } from 'node:path';
import { z } from 'zod';

const optionalUrl = z.preprocess((value) => (value === '' ? undefined : value), z.url().optional());
const optionalString = z.preprocess((value) => (value === '' ? undefined : value), z.string().optional());

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** Interface to listen on; development mode stays on loopback unless told otherwise. */
  HOST: optionalString,
  DATABASE_URL: optionalUrl,
  DATA_DIR: z.string().min(1).default('.data'),
  SUPABASE_URL: optionalUrl,
  SUPABASE_JWT_SECRET: optionalString,
  SUPABASE_JWKS_URL: optionalUrl,
  /**
   * Where clients reach this API (e.g. `https://api.example.com`), for the OpenAPI document's
   * `servers`; unset: relative (`/api`). Never taken from a request's Host header.
   */
  PUBLIC_URL: optionalUrl.transform((value) => value?.replace(/\/+$/, '')),
  ALLOWED_ORIGINS: z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.url()))
    // Browsers send an origin as scheme://host[:port]; compare like with like (no path, no trailing /).
    .transform((origins) => origins.map((origin) => new URL(origin).origin)),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SYNC_MIN_INTERVAL_MS: z.coerce.number().int().min(0).default(30_000),
  SYNC_FORCE_FLOOR_MS: z.coerce.number().int().min(0).default(5_000),
  /** Deleted notes are kept this long so deltas can report them; older cursors then reset. */
  SYNC_TOMBSTONE_TTL_MS: z.coerce
    .number()
    .int()
    .min(60_000)
    .default(30 * 24 * 3600 * 1000),
  /** Each user's sustained request rate per process (0 turns the budget off), and the burst above it. */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(300),
  RATE_LIMIT_BURST: z.coerce.number().int().min(1).default(120),
  /** Each user's requests running at once per process (0 turns the limit off). */
  RATE_LIMIT_CONCURRENT: z.coerce.number().int().min(0).default(4),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  /** Named prepared statements (one round trip per statement); 0 behind a transaction-mode pooler. */
  DB_PREPARE: z
    .enum(['0', '1', 'false', 'true'])
    .default('1')
    .transform((value) => value === '1' || value === 'true'),
  /**
   * Live updates (`GET /api/v2/events`, `notes.changes`): one LISTEN connection per process and a poke
   * after each write. 0 where LISTEN cannot work (a transaction-mode pooler): streams answer 503 and
   * clients poll.
   */
  LIVE_UPDATES: z
    .enum(['0', '1', 'false', 'true'])
    .default('1')
    .transform((value) => value === '1' || value === 'true'),
  /**
   * Benchmarks only: count each request's database statements and round trips and report them in
   * `x-db-statements` / `x-db-round-trips` / `x-db-prepares` response headers.
   */
  DB_QUERY_COUNT: z
    .enum(['0', '1', 'false', 'true'])
    .default('0')
    .transform((value) => value === '1' || value === 'true'),
});

export type Env = z.infer<typeof EnvSchema>;

export type AuthMode =
  | { kind: 'development'; supabaseUrl: string }
  | { kind: 'supabase'; supabaseUrl: string; jwtSecret: string | undefined; jwksUrl: string | undefined };

export interface Config extends Env {
  auth: AuthMode;
  host: string;
}

/**
 * The only reader of `process.env`. Fails fast, naming every bad variable, and refuses a production
 * start without Supabase settings (a server that cannot verify tokens must not run).
 */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid environment:\n${problems.join('\n')}`);
  }
  const env = parsed.data;
  const hasSupabase = Boolean(env.SUPABASE_URL || env.SUPABASE_JWT_SECRET || env.SUPABASE_JWKS_URL);
  let auth: AuthMode;
  if (hasSupabase) {
    if (!env.SUPABASE_URL)
      throw new ConfigError('SUPABASE_URL is required with SUPABASE_JWT_SECRET or SUPABASE_JWKS_URL.');
    const supabaseUrl = env.SUPABASE_URL.replace(/\/+$/, '');
    auth = {
      kind: 'supabase',
      supabaseUrl,
      jwtSecret: env.SUPABASE_JWT_SECRET,
      jwksUrl: env.SUPABASE_JWKS_URL ?? `${supabaseUrl}/auth/v1/.well-known/jwks.json`,
    };
  } else if (env.NODE_ENV === 'production') {
    throw new ConfigError(
      'NODE_ENV=production needs SUPABASE_URL (and SUPABASE_JWT_SECRET and/or SUPABASE_JWKS_URL) to verify tokens.',
    );
  } else {
    auth = { kind: 'development', supabaseUrl: '' };
  }
  const host = env.HOST ?? (auth.kind === 'development' ? '127.0.0.1' : '0.0.0.0');
  // `pnpm start` runs inside apps/api; a relative DATA_DIR means "relative to where you typed it".
  const dataDir = resolve(source.INIT_CWD ?? process.cwd(), env.DATA_DIR);
  return { ...env, DATA_DIR: dataDir, auth, host };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}
