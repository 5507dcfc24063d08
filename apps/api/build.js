// @ts-check
/**
 * `pnpm build` (and the first step of `pnpm start` and `pnpm run token`): the API bundled by esbuild
 * into plain JavaScript in dist/, run by `node --enable-source-maps`, without tsx's loader (its own
 * thread and V8 heap, and the transformed sources it keeps, cost about 90 MB of RSS and a second of
 * start-up CPU per process).
 *
 *   dist/main.js     the server (src/main.ts), with main.js.map
 *   dist/cli.js      `pnpm run token` (src/cli.ts), with cli.js.map
 *   dist/migrations  a copy of packages/db/migrations, found by the bundle through BUNDLED_MIGRATIONS_DIR
 *
 * The workspace packages (TypeScript sources) and most dependencies are bundled; what reads its own
 * files at run time stays external and is resolved by Node from apps/api/node_modules, so it must be a
 * direct dependency of @fannotes/api. Plain JavaScript (not TypeScript) so that `node` runs it at once.
 *
 * Invariant: dist/ is replaced whole, by one rename, so a process starting from it (or a second build
 * racing this one: `pnpm start` beside `pnpm test`) never sees half a build.
 */
import { chmod, cp, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const apiDir = fileURLToPath(new URL('.', import.meta.url));
const distDir = join(apiDir, 'dist');
// Staging and retired builds live under node_modules/.cache, ignored by git, lint and format alike,
// on the same file system as dist/ (a rename, not a copy).
const scratchDir = join(apiDir, 'node_modules', '.cache', 'fannotes-api-build');

/** Packages that load files beside their own modules at run time: kept out of the bundle. */
const external = [
  // Loads its WASM and data files (pglite.wasm, pglite.data, extensions) relative to its module.
  '@electric-sql/pglite',
  // Served file by file by src/docs-page.ts, which resolves it with createRequire.
  'swagger-ui-dist',
];

async function build() {
  await mkdir(scratchDir, { recursive: true });
  const staging = await mkdtemp(join(scratchDir, 'next-'));
  try {
    await chmod(staging, 0o755); // mkdtemp makes it private; dist/ is an ordinary directory
    // Built for dist/ (source map paths are relative to it), written to the staging directory.
    const result = await esbuild.build({
      absWorkingDir: apiDir,
      entryPoints: { main: 'src/main.ts', cli: 'src/cli.ts' },
      outdir: distDir,
      write: false,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      sourcemap: 'linked',
      // Stack traces need the mappings, not a second copy of every source (the files are in the repo).
      sourcesContent: false,
      external: external.flatMap((name) => [name, `${name}/*`]),
      define: { BUNDLED_MIGRATIONS_DIR: JSON.stringify('./migrations/') },
      // Bundled CommonJS dependencies (pino and its helpers) call require() for Node's built-ins.
      banner: {
        js: "import { createRequire as __bundleCreateRequire } from 'node:module';\nconst require = __bundleCreateRequire(import.meta.url);",
      },
      logLevel: 'warning',
    });
    for (const file of result.outputFiles) {
      const target = join(staging, relative(distDir, file.path));
      await writeFile(target, file.contents);
    }
    // The whole folder (meta/ included): drizzle's migrator reads meta/_journal.json and each SQL file.
    const migrations = new URL('../migrations/', import.meta.resolve('@fannotes/db'));
    await cp(fileURLToPath(migrations), join(staging, 'migrations'), { recursive: true });

    await replaceDist(staging);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * Moves `staging` to dist/, retiring the old dist/ first; retries if a racing build got there between.
 * @param {string} staging
 */
async function replaceDist(staging) {
  for (let attempt = 1; ; attempt++) {
    const retired = `${staging}-old-${attempt}`;
    try {
      await rename(distDir, retired);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
    }
    try {
      await rename(staging, distDir);
      await rm(retired, { recursive: true, force: true });
      return;
    } catch (error) {
      await rm(retired, { recursive: true, force: true });
      if (attempt >= 5 || !['ENOTEMPTY', 'EEXIST'].includes(String(errorCode(error)))) throw error;
    }
  }
}

/** @param {unknown} error */
function errorCode(error) {
  return typeof error === 'object' && error !== null
    ? /** @type {{ code?: unknown }} */ (error).code
    : undefined;
}

await build();
