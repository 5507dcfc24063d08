import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { SuccessEnvelope, SyncNotesData } from '@fannotes/contract';
import { migrationsFolder } from '@fannotes/db';
import { createTestDatabase, type TestDatabase } from '@fannotes/db/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DEMO_FAN_ID, DEMO_OWNER_ID } from '../src/dev/seed.ts';
import { startArguments } from '../src/start-command.ts';

// `pnpm start` and the bench run the bundle (build.js, then `node dist/main.js`), not the TypeScript
// sources the other suites run: this builds it as `pnpm start` does and checks that what users run
// starts, finds its migrations and the files of its external packages, serves a real sync, and stops
// cleanly. The other suites cannot catch a bundling mistake (a file looked up beside a module that
// moved into dist/, a dependency left out), since none of them loads dist/.

const apiDir = fileURLToPath(new URL('..', import.meta.url));
const distDir = join(apiDir, 'dist');
const run = promisify(execFile);

beforeAll(async () => {
  await run(process.execPath, ['build.js'], { cwd: apiDir });
}, 60_000);

test('the bundle carries every migration, and the patched postgres.js', async () => {
  const source = migrationsFolder; // packages/db/migrations, as the sources find it
  const listing = async (dir: string) => (await readdir(dir, { recursive: true })).sort();
  expect(await listing(join(distDir, 'migrations'))).toEqual(await listing(source));
  expect(await readFile(join(distDir, 'migrations', 'meta', '_journal.json'), 'utf8')).toBe(
    await readFile(join(source, 'meta', '_journal.json'), 'utf8'),
  );

  const scripts = (await readdir(distDir)).filter((name) => name.endsWith('.js'));
  const sources = await Promise.all(scripts.map((name) => readFile(join(distDir, name), 'utf8')));
  const bundle = sources.join('\n');
  // patches/postgres@3.4.9.patch: nextWrite no longer writes to a closed socket from a timer.
  expect(bundle).toMatch(
    /function nextWrite\(fn\) \{\s*if \(socket === null\) \{\s*chunk = nextWriteTimer = null;/,
  );
  // Loaded from node_modules at run time, not bundled: their files live beside their modules.
  expect(bundle).toMatch(/from "@electric-sql\/pglite"/);
  expect(await readFile(join(distDir, 'main.js'), 'utf8')).toMatch(
    /\/\/# sourceMappingURL=main\.js\.map\s*$/,
  );
  // One character above U+00FF in a script and V8 holds all of its source at two bytes a character.
  for (const [index, source] of sources.entries()) {
    expect({ script: scripts[index], nonAscii: /[\u0080-\uffff]/.exec(source)?.[0] }).toEqual({
      script: scripts[index],
      nonAscii: undefined,
    });
  }
});

describe('node dist/main.js, as `pnpm start` runs it', () => {
  let dataDir: string;
  let database: TestDatabase | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'fannotes-bundle-'));
    if (process.env.DATABASE_URL) {
      // An empty database, as on a first deploy, so that the bundle's own migrations build it.
      database = await createTestDatabase();
      await database.db.execute(sql`drop schema public cascade`);
      await database.db.execute(sql`create schema public`);
      await database.db.execute(sql`drop schema drizzle cascade`);
    }
  }, 60_000);

  afterAll(async () => {
    await database?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const targets = [
    { name: 'embedded PGlite under a fresh DATA_DIR', env: () => ({ DATA_DIR: join(dataDir, 'pglite') }) },
    ...(process.env.DATABASE_URL
      ? [
          {
            name: 'an empty PostgreSQL database',
            env: () => ({ DATA_DIR: join(dataDir, 'postgres'), DATABASE_URL: database!.url! }),
          },
        ]
      : []),
  ];

  test.for(targets)(
    'on $name: migrates, seeds the demo fan, answers a real sync, stops on SIGTERM',
    { timeout: 60_000 },
    async ({ env: targetEnv }) => {
      const env = { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...targetEnv() };
      const api = await startBundle(env);
      let exit: Awaited<ReturnType<Bundle['stop']>>;
      try {
        expect(api.output()).toContain('FanNotes Sync API listening on http://localhost:');
        expect(await (await fetch(`${api.url}/healthz`)).json()).toEqual({ status: 'ok' });
        expect((await fetch(`${api.url}/docs/swagger-ui.css`)).status).toBe(200);
        // Built by a chunk loaded on this first request.
        const openApi = (await (await fetch(`${api.url}/api/openapi.json`)).json()) as {
          paths: Record<string, unknown>;
        };
        expect(openApi.paths).toHaveProperty(['/v2/sync-notes']);

        // A token from the bundled CLI (`pnpm run token`), signed with the secret the server made.
        const { stdout } = await run(
          process.execPath,
          ['--enable-source-maps', 'dist/cli.js', 'token', '--user', DEMO_OWNER_ID],
          { cwd: apiDir, env: { PATH: process.env.PATH ?? '', ...env } },
        );
        const token = stdout.trim();
        expect(token.split('.')).toHaveLength(3);

        const response = await fetch(`${api.url}/api/v2/sync-notes`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ fanId: DEMO_FAN_ID }),
        });
        const body = (await response.json()) as SuccessEnvelope<SyncNotesData>;
        expect(response.status).toBe(200);
        expect(body.status).toBe('success');
        expect(body.data.notes.length).toBeGreaterThan(0);
        expect(body.data.notes.every((note) => note.fanId === DEMO_FAN_ID)).toBe(true);
        expect(body.data.notes.map((note) => note.content)).toContain(
          'Subscriber likes fitness content and usually tips on workout videos.',
        );
      } finally {
        exit = await api.stop();
      }
      expect(exit).toEqual({ code: 0, signal: null });
      expect(api.output()).toContain('"msg":"stopped"');
    },
  );
});

interface Bundle {
  url: string;
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `pnpm start`'s `node ... dist/main.js` with exactly `env` (plus PATH and HOME), once it listens. */
async function startBundle(env: Record<string, string>): Promise<Bundle> {
  const child = spawn(process.execPath, startArguments(), {
    cwd: apiDir,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dist/main.js did not start:\n${output}`)), 45_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      // The port from the `listening` log line; the banner is written right after it.
      const port = output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { msg?: string; port?: number })
        .find((entry) => entry.msg === 'listening')?.port;
      if (port !== undefined && output.includes('listening on http://')) {
        clearTimeout(timer);
        resolve(port);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((exit) => {
      clearTimeout(timer);
      reject(new Error(`dist/main.js exited (${JSON.stringify(exit)}) before listening:\n${output}`));
    });
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        try {
          await exited;
        } finally {
          clearTimeout(timer);
        }
      }
      return exited;
    },
  };
}
