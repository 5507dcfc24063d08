import type { AddressInfo } from 'node:net';
import { createApp } from './app.ts';
import { mintToken } from './auth/dev-keys.ts';
import { DEMO_FAN_ID, DEMO_OWNER_ID, seedDemo } from './dev/seed.ts';
import { ConfigError, loadConfig, type Config } from './env.ts';
import { createLogger } from './logger.ts';

/** `pnpm start`: the API on the embedded database unless DATABASE_URL is set. */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config.LOG_LEVEL);
  const app = await createApp(config, logger);
  if (config.auth.kind === 'development') await seedDemo(app.deps.db, new Date());

  await app.http.listen({ port: config.PORT, host: config.host });
  const { port } = app.http.server.address() as AddressInfo;
  const base = `http://${config.host === '0.0.0.0' || config.host === '127.0.0.1' ? 'localhost' : config.host}:${port}`;
  logger.info({ port, host: config.host, database: app.database.kind, auth: config.auth.kind }, 'listening');
  process.stdout.write(await banner(config, app.auth, base));

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // End live streams, finish requests in flight (bounded), then close the database: nothing is cut
    // mid-transaction.
    const force = setTimeout(() => {
      logger.warn('requests still running after 10 s; closing them');
      app.http.server.closeAllConnections();
    }, 10_000);
    force.unref();
    void app.close().finally(() => {
      logger.info('stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function banner(config: Config, auth: { issuer: string; devSecret: string | undefined }, base: string) {
  const lines = [
    '',
    `FanNotes Sync API listening on ${base}`,
    `  docs:     ${base}/docs   (OpenAPI: ${base}/api/openapi.json)`,
    `  database: ${config.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : `embedded PGlite under ${config.DATA_DIR}`}`,
  ];
  if (auth.devSecret) {
    const token = await mintToken({
      secret: auth.devSecret,
      issuer: auth.issuer,
      userId: DEMO_OWNER_ID,
      email: 'demo@fannotes.local',
      expiresInSec: 12 * 3600,
    });
    lines.push(
      '  auth:     development mode (no Supabase settings): tokens are signed with a secret kept in DATA_DIR',
      '',
      `Sync the demo fan's notes (token for the demo owner, valid 12 h; \`pnpm run token --user <uuid>\` mints more):`,
      '',
      `  curl -sS -X POST ${base}/api/v2/sync-notes \\`,
      `    -H "Authorization: Bearer ${token}" \\`,
      `    -H "Content-Type: application/json" \\`,
      `    -d '{"fanId":"${DEMO_FAN_ID}"}'`,
    );
  } else {
    lines.push(`  auth:     Supabase tokens from ${auth.issuer}`);
  }
  return `${lines.join('\n')}\n\n`;
}

main().catch((error: unknown) => {
  process.stderr.write(
    `FanNotes Sync API failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
