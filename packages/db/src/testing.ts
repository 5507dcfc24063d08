import { createHash, randomBytes } from 'node:crypto';
import { readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { migrationsFolder } from './migrate.ts';
import { openPglite, openPostgres, type DatabaseHandle } from './open.ts';

export interface TestDatabase extends DatabaseHandle {
  /** The connection URL of the database made for this test file (PostgreSQL only). */
  url: string | undefined;
}

/**
 * A migrated, empty database for one test file. With `url` (default: `DATABASE_URL`) it creates a
 * fresh database on that server and drops it on close; otherwise an in-memory PGlite started from a
 * migrated snapshot, which takes well under a second instead of migrating each time.
 */
export async function createTestDatabase(
  options: {
    url?: string | undefined;
    maxConnections?: number | undefined;
    /** Count statements and round trips for `withQueryCount` (query-count.ts). */
    countQueries?: boolean;
  } = {},
): Promise<TestDatabase> {
  const url = 'url' in options ? options.url : process.env.DATABASE_URL;
  const countQueries = options.countQueries ?? false;
  if (url) return createPostgresTestDatabase(url, options.maxConnections, countQueries);
  const handle = await openPglite({ loadDataDir: await migratedSnapshot(), migrate: false, countQueries });
  return { ...handle, url: undefined };
}

// Whole databases rather than schemas: drizzle-kit writes `"public".` into foreign keys, so a schema
// per test file would still point at the shared public tables.
async function createPostgresTestDatabase(
  serverUrl: string,
  maxConnections = 10,
  countQueries = false,
): Promise<TestDatabase> {
  const name = `fannotes_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const handle = await openPostgres({ url: url.toString(), maxConnections, countQueries });
  return {
    ...handle,
    url: url.toString(),
    close: async () => {
      await handle.close();
      const dropper = postgres(serverUrl, { max: 1, onnotice: () => {} });
      try {
        await dropper.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await dropper.end();
      }
    },
  };
}

/**
 * A dump of a freshly migrated PGlite, cached in the temp directory under a hash of the migrations,
 * so it is rebuilt exactly when a migration changes.
 */
async function migratedSnapshot(): Promise<Blob> {
  const path = join(tmpdir(), `fannotes-pglite-${await migrationsHash()}.tar.gz`);
  try {
    // A copy as a plain Uint8Array: a Buffer is not a BlobPart under the DOM lib (the extension's tests).
    return new Blob([new Uint8Array(await readFile(path))]);
  } catch {
    const seed = await openPglite();
    const dump = await seed.pglite.dumpDataDir('gzip');
    await seed.close();
    const partial = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
    await writeFile(partial, Buffer.from(await dump.arrayBuffer()));
    await rename(partial, path);
    return dump;
  }
}

async function migrationsHash(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of (await readdir(migrationsFolder)).sort()) {
    if (file.endsWith('.sql')) hash.update(file).update(await readFile(join(migrationsFolder, file)));
  }
  return hash.digest('hex').slice(0, 16);
}
