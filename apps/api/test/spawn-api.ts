import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** apps/api: where `src/main.ts` runs from, as `pnpm start` runs it. */
const apiDir = fileURLToPath(new URL('..', import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One real API process (`node --import tsx src/main.ts`), as a load balancer would see it. */
export interface ApiProcess {
  name: string;
  /** `http://127.0.0.1:<port>`, the port it reported in its `listening` log line. */
  url: string;
  child: ChildProcess;
  /** Every stdout and stderr line so far: JSON log lines and the start-up banner. */
  lines: string[];
  /** Parsed JSON log lines (pino: `level` 50 is error, 60 fatal). */
  logs: () => Record<string, unknown>[];
  exited: Promise<Exit>;
  /** SIGTERM, then SIGKILL if it is still running after `graceMs`; resolves with how it exited. */
  stop: (graceMs?: number) => Promise<Exit & { ms: number }>;
}

/**
 * Starts the API with exactly `env` (plus PATH and HOME; nothing inherited from the test runner, such
 * as NODE_ENV=test) on a port the OS picks, and resolves once it has logged `listening`.
 */
export async function spawnApi(
  name: string,
  env: Record<string, string>,
  options: { startTimeoutMs?: number } = {},
): Promise<ApiProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: apiDir,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );

  const listening = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not log 'listening' in time:\n${lines.join('\n')}`)),
      options.startTimeoutMs ?? 45_000,
    );
    const onLine = (line: string) => {
      lines.push(line);
      const entry = parseJson(line);
      if (entry?.msg === 'listening' && typeof entry.port === 'number') {
        clearTimeout(timer);
        resolve(entry.port);
      }
    };
    forEachLine(child.stdout, onLine);
    forEachLine(child.stderr, onLine);
    void exited.then((exit) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${JSON.stringify(exit)}) before listening:\n${lines.join('\n')}`));
    });
  });

  let port: number;
  try {
    port = await listening;
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }

  const stop = async (graceMs = 5_000) => {
    const started = Date.now();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        await exited;
      } finally {
        clearTimeout(timer);
      }
    }
    return { ...(await exited), ms: Date.now() - started };
  };

  return {
    name,
    url: `http://127.0.0.1:${port}`,
    child,
    lines,
    logs: () => lines.map(parseJson).filter((entry) => entry !== undefined),
    exited,
    stop,
  };
}

function forEachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const part of parts) onLine(part);
  });
  stream.on('end', () => {
    if (buffered) onLine(buffered);
  });
}

function parseJson(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Polls until `check` resolves truthy, or fails with `what` after `timeoutMs`. No fixed sleeps. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (let delay = 25; ; delay = Math.min(delay * 2, 250)) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for ${what}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
