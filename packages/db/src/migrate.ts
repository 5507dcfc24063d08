import { fileURLToPath } from 'node:url';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';

/**
 * Set only in the API's bundle (apps/api/build.js defines it and copies migrations/ there): the folder
 * relative to the bundle. From source (tsx, vitest) it is undefined and migrations/ sits beside src/.
 */
declare const BUNDLED_MIGRATIONS_DIR: string | undefined;

export const migrationsFolder = fileURLToPath(
  typeof BUNDLED_MIGRATIONS_DIR === 'string'
    ? new URL(BUNDLED_MIGRATIONS_DIR, import.meta.url)
    : new URL('../migrations', import.meta.url),
);

// Any constant works; it only has to be the same in every process that migrates this database.
const MIGRATION_LOCK_KEY = 7_226_001;

/**
 * Applies migrations under a session advisory lock held on a dedicated single connection, so that
 * several API processes starting together migrate once, one after another.
 */
export async function migratePostgresDatabase(url: string): Promise<void> {
  const client = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    await client`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    await migratePostgres(drizzlePostgres(client), { migrationsFolder });
    await client`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
  } finally {
    await client.end({ timeout: 5 });
  }
}
