import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { migrationsFolder } from './migrate.ts';
import type { Database, DatabaseHandle, PgliteOptions } from './open.ts';
import { countPgliteQueries } from './query-count.ts';
import * as schema from './schema/index.ts';

// PGlite's side of open.ts, apart so that only a process that opens an embedded database loads it.

/** `openPglite` (open.ts), which loads this module on first use. */
export async function openPgliteDriver(options: PgliteOptions): Promise<DatabaseHandle & { pglite: PGlite }> {
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  const client = new PGlite({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
  });
  await client.waitReady;
  const db = drizzlePglite(client, { schema });
  if (options.migrate ?? true) await migratePgliteDatabase(client);
  if (options.countQueries) countPgliteQueries(client);
  return {
    db: db as unknown as Database,
    kind: 'pglite',
    pglite: client,
    ping: async () => {
      await client.query('select 1');
    },
    close: () => client.close(),
    listen: async (channel, onNotify, onListen) => {
      const unlisten = await client.listen(channel, onNotify);
      onListen();
      return { close: unlisten };
    },
  };
}

/** Applies migrations to an embedded database (one connection: nothing to serialise). */
export async function migratePgliteDatabase(client: PGlite): Promise<void> {
  await migratePglite(drizzlePglite(client), { migrationsFolder });
}
