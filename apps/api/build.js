// @ts-check
/**
 * `pnpm build` (and the first step of `pnpm start` and `pnpm run token`): the API bundled by esbuild
 * into plain JavaScript in dist/, run by plain `node`, without tsx's loader (its own thread and V8
 * heap, and the transformed sources it keeps, cost about 90 MB of RSS and a second of start-up CPU
 * per process).
 *
 *   dist/main.js     the server (src/main.ts), with main.js.map
 *   dist/cli.js      `pnpm run token` (src/cli.ts), with cli.js.map
 *   dist/*-HASH.js   chunks: what they load only when needed (openapi-*: the OpenAPI generator;
 *                    pglite-*: the PGlite driver), and the code those share with them (chunk-*)
 *   dist/migrations  a copy of packages/db/migrations, found by the bundle through BUNDLED_MIGRATIONS_DIR
 *
 * The output is unminified: a stack trace names functions, and each module's code follows a comment
 * with its source's path. `pnpm start` does not pass `--enable-source-maps`: Node would read and keep
 * the maps of every chunk it loads, about 6 MB of an idle process's RSS. Set
 * `NODE_OPTIONS=--enable-source-maps` for stack traces in the TypeScript sources' lines.
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
    // Built for dist/ (source map paths are relative to it), written to the staging directory. One
    // build per entry point: each keeps its own code in its own file, rather than in chunks the two
    // would share, and only what it imports dynamically goes to chunks.
    const results = await Promise.all(
      Object.entries({ main: 'src/main.ts', cli: 'src/cli.ts' }).map(([name, source]) =>
        bundle({ [name]: source }),
      ),
    );
    for (const file of results.flatMap((result) => result.outputFiles)) {
      const target = join(staging, relative(distDir, file.path));
      await writeFile(target, file.path.endsWith('.js') ? asciiOnly(file.text) : file.contents);
    }
    // The whole folder (meta/ included): drizzle's migrator reads meta/_journal.json and each SQL file.
    const migrations = new URL('../migrations/', import.meta.resolve('@fannotes/db'));
    await cp(fileURLToPath(migrations), join(staging, 'migrations'), { recursive: true });

    await replaceDist(staging);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** @param {Record<string, string>} entryPoints */
function bundle(entryPoints) {
  return esbuild.build({
    absWorkingDir: apiDir,
    entryPoints,
    outdir: distDir,
    write: false,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    // What only some processes or requests need is imported dynamically and left in chunks of its
    // own, loaded then: the PGlite driver (packages/db/src/pglite.ts) and the OpenAPI generator
    // (src/openapi.ts). V8 holds the source of every script it loaded for the process's life.
    // Chunks sit beside main.js, so that paths relative to import.meta.url (migrations/) hold.
    splitting: true,
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
}

/**
 * esbuild escapes every non-ASCII character of the code (its default `charset: 'ascii'`) but copies
 * the comments it keeps as they are. One character above U+00FF anywhere in a script makes V8 hold
 * its whole source as UTF-16, two bytes a character: an em dash in a comment of zod's took 8.2 MB of
 * the idle heap for the 4.3 MB bundle. Such characters are left only in comments, so each UTF-16 unit
 * of them becomes a `?` (the columns of the source map stay right), as undici does for its bundle.
 * @param {string} code
 */
function asciiOnly(code) {
  return code.replace(/[\u0080-\uffff]/g, '?');
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
