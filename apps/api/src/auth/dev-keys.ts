import { randomBytes, randomUUID } from 'node:crypto';
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { UserId } from '@fannotes/contract';

/**
 * Development mode (no Supabase settings, embedded database) signs its own tokens with a secret kept
 * under DATA_DIR. The issuer is the one Supabase's local CLI uses, so a development token is
 * indistinguishable from a local Supabase token and goes through the very same verifier.
 */
export const DEV_SUPABASE_URL = 'http://127.0.0.1:54321';

const SECRET_FILE = 'dev-jwt-secret';
const SECRET_BYTES = 48;
const MIN_SECRET_LENGTH = 32;

/**
 * The development signing secret, made on first use. Invariant: every process sharing a data
 * directory gets the same secret, so tokens minted by the CLI verify in the running server. The file
 * appears only complete (written aside, then hard-linked into place, which fails if it already
 * exists), and a process that loses the race reads the winner's secret.
 */
export async function loadOrCreateDevSecret(dataDir: string): Promise<string> {
  const file = join(dataDir, SECRET_FILE);
  const existing = await readSecret(file);
  if (existing !== null) return existing;

  await mkdir(dataDir, { recursive: true });
  const temp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(temp, `${randomBytes(SECRET_BYTES).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(temp, file);
  } catch (error) {
    // No hard links on this file system: rename, which could replace a racing process's file.
    if (errorCode(error) !== 'EEXIST') await rename(temp, file);
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  const secret = await readSecret(file);
  if (secret === null) throw new Error(`Could not create the development JWT secret at ${file}.`);
  return secret;
}

async function readSecret(file: string): Promise<string | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    throw error;
  }
  const secret = text.trim();
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`The development JWT secret in ${file} is too short; delete the file to make a new one.`);
  }
  return secret;
}

function errorCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

export interface MintTokenOptions {
  secret: string;
  issuer: string;
  userId: string;
  /** Default 3600, Supabase's default access token lifetime. */
  expiresInSec?: number;
  email?: string;
  /** Supabase's `user_metadata` (e.g. `{ full_name }` from a sign-up form or an OAuth provider). */
  userMetadata?: Record<string, unknown>;
  /** Epoch seconds; tests pass a fixed one. */
  now?: number;
}

/** An HS256 access token with the claims Supabase Auth puts in one for an email user. */
export async function mintToken(opts: MintTokenOptions): Promise<string> {
  const userId = UserId.safeParse(opts.userId);
  if (!userId.success) throw new Error(`A user id must be a UUID, not ${JSON.stringify(opts.userId)}.`);
  const expiresIn = opts.expiresInSec ?? 3600;
  if (!Number.isInteger(expiresIn) || expiresIn <= 0)
    throw new Error('expiresInSec must be a positive integer.');
  if (!opts.secret) throw new Error('A signing secret is required.');
  const now = opts.now ?? Math.floor(Date.now() / 1000);

  return new SignJWT({
    email: opts.email ?? '',
    phone: '',
    app_metadata: { provider: 'email', providers: ['email'] },
    user_metadata: opts.userMetadata ?? {},
    role: 'authenticated',
    aal: 'aal1',
    amr: [{ method: 'password', timestamp: now }],
    session_id: randomUUID(),
    is_anonymous: false,
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(opts.issuer)
    .setSubject(userId.data)
    .setAudience('authenticated')
    .setIssuedAt(now)
    .setExpirationTime(now + expiresIn)
    .sign(new TextEncoder().encode(opts.secret));
}
