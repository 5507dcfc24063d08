import { parseArgs } from 'node:util';
import { issuerAndSecret } from './app.ts';
import { mintToken } from './auth/dev-keys.ts';
import { ConfigError, loadConfig } from './env.ts';

const usage = `Usage: pnpm run token --user <uuid> [--email <email>] [--expires <seconds>]

Mints an access token for a user, signed with the development secret under DATA_DIR
(or SUPABASE_JWT_SECRET when set), and prints it alone on stdout.`;

/** `pnpm run token`: development tokens for any user id. */
async function main(): Promise<number> {
  const [command, ...rest] = process.argv.slice(2);
  if (command !== 'token') {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const { values } = parseArgs({
    args: rest.filter((arg) => arg !== '--'),
    options: {
      user: { type: 'string' },
      email: { type: 'string' },
      expires: { type: 'string', default: '3600' },
      help: { type: 'boolean' },
    },
  });
  if (values.help || !values.user) {
    process.stderr.write(`${usage}\n`);
    return values.help ? 0 : 2;
  }
  const config = loadConfig();
  const { issuer, devSecret } = await issuerAndSecret(config);
  const secret = devSecret ?? (config.auth.kind === 'supabase' ? config.auth.jwtSecret : undefined);
  if (!secret) {
    process.stderr.write(
      'No signing secret: SUPABASE_JWKS_URL-only projects sign tokens with Supabase itself.\n',
    );
    return 1;
  }
  const token = await mintToken({
    secret,
    issuer,
    userId: values.user,
    expiresInSec: Number(values.expires),
    ...(values.email ? { email: values.email } : {}),
  });
  process.stdout.write(`${token}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  },
);
