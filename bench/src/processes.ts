import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';
import { startArguments } from '../../apps/api/src/start-command.ts';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const apiDir = fileURLToPath(new URL('../../apps/api', import.meta.url));
export const benchDir = fileURLToPath(new URL('..', import.meta.url));

/**
 * Builds the API's bundle as `pnpm start` does first (apps/api/build.js, into apps/api/dist/), so that
 * the bench measures what users run: `node ... dist/main.js` with `pnpm start`'s flags, not tsx.
 */
export async function buildApi(): Promise<void> {
  await promisify(execFile)(process.execPath, ['build.js'], { cwd: apiDir });
}

/** The API's start command from apps/api, after `buildApi()`: `pnpm start`'s, minus the build. */
export const apiStartArgs = startArguments();

/**
 * Bundles the floors (floor-server.ts) and the old baseline (old-baseline-server.ts) into bench/dist/
 * to run as plain JavaScript, as the API runs: under tsx they would carry the loader's thread and heap
 * (tens of MB of RSS) that the API does not.
 */
export async function buildFloors(): Promise<void> {
  await esbuild.build({
    absWorkingDir: benchDir,
    entryPoints: ['src/floor-server.ts', 'src/old-baseline-server.ts'],
    outdir: 'dist',
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    // floor-stack.ts (Fastify, tRPC, zod) in a chunk of its own, loaded only with --floor-stack.
    splitting: true,
    // Loads its WASM beside its own module.
    external: ['@electric-sql/pglite'],
    banner: {
      js: "import { createRequire as __bundleCreateRequire } from 'node:module';\nconst require = __bundleCreateRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
}

/** The floors' start command from bench/, after `buildFloors()`. */
export const floorStartArgs = ['dist/floor-server.js'];
/** The old baseline's (before issue 18: a join, not prepared), after `buildFloors()`. */
export const oldBaselineStartArgs = ['dist/old-baseline-server.js'];

export interface ServerProcess {
  name: string;
  url: string;
  pid: number;
  child: ChildProcess;
  output: string[];
  /** The highest resident set size seen so far, from the kernel (VmHWM), in bytes. */
  peakRss: () => number;
  /**
   * Starts a new high-water mark at the current RSS (Linux: `5` to /proc/<pid>/clear_refs), so that
   * the next `peakRss()` is one scenario's. Returns false where the kernel does not allow it.
   */
  resetPeakRss: () => boolean;
  /** The resident set size now (VmRSS), in bytes; 0 where it cannot be read. */
  rss: () => number;
  stop: () => Promise<void>;
}

/**
 * Starts a server as its own process (its RSS and CPU are its own) and resolves once it reports its
 * port: the API's banner line, or the floor's `listening` JSON line.
 */
export async function startServer(
  name: string,
  args: string[],
  options: { cwd: string; env: Record<string, string>; timeoutMs?: number },
): Promise<ServerProcess> {
  const child = spawn(process.execPath, args, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not start in time:\n${output.join('')}`)),
      options.timeoutMs ?? 90_000,
    );
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output.push(text);
      if (output.length > 200) output.splice(0, output.length - 200);
      const banner = /listening on http:\/\/[^:\s]+:(\d+)/.exec(text);
      const json = /"msg":"listening","port":(\d+)/.exec(text);
      const match = banner ?? json;
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before listening:\n${output.join('')}`));
    });
  });
  const pid = child.pid!;
  let peak = 0;
  const peakRss = () => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
      if (hwm) peak = Math.max(peak, Number(hwm[1]) * 1024);
    } catch {
      // Not Linux, or the process is gone: keep what was seen.
      peak = Math.max(peak, 0);
    }
    return peak;
  };
  const resetPeakRss = () => {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
      peak = 0;
      return true;
    } catch {
      return false;
    }
  };
  const rss = () => {
    try {
      const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return kb ? Number(kb[1]) * 1024 : 0;
    } catch {
      return 0;
    }
  };
  const stop = async () => {
    peakRss();
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  return { name, url: `http://127.0.0.1:${port}`, pid, child, output, peakRss, resetPeakRss, rss, stop };
}
