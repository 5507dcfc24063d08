import { readFileSync } from 'node:fs';
import { spawnApi, waitFor, type ApiProcess } from '../../test/spawn-api.ts';
import { JWT_SECRET, SUPABASE_URL } from './tokens.ts';

export { waitFor, type ApiProcess };

/**
 * A real API process in production mode (`node --import tsx src/main.ts`, as test/spawn-api.ts
 * starts it) on `databaseUrl`, with Supabase settings of the suite's made-up project, and every other
 * setting at its production default (the per-user request budget and concurrency limit included):
 * what users get is what is attacked. A test that plays many users through one, on purpose, turns
 * the limits off in `env` and says why.
 */
export function startApi(
  name: string,
  databaseUrl: string,
  env: Record<string, string> = {},
): Promise<ApiProcess> {
  return spawnApi(name, {
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    SUPABASE_URL,
    SUPABASE_JWT_SECRET: JWT_SECRET,
    LOG_LEVEL: 'info',
    ...env,
  });
}

/**
 * The per-user limits off (the request budget and requests at once), for a test that sends far more
 * per user than any user could be allowed, on purpose: thousands of generated requests through one
 * token, a flood of 20 requests at once per user, faults under load. What such a test shows is not
 * about those limits; overload.test.ts and soak.test.ts show the limits themselves.
 */
export const LIMITS_OFF = { RATE_LIMIT_PER_MINUTE: '0', RATE_LIMIT_CONCURRENT: '0' } as const;

/** A process's resident memory (VmRSS), in KiB. */
export function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]);
}

/** Log lines at error or fatal level (pino 50, 60): every 500 and every crash is one of these. */
export function errorLogs(...apis: ApiProcess[]): Record<string, unknown>[] {
  return apis.flatMap((api) =>
    api
      .logs()
      .filter((entry) => Number(entry.level) >= 50)
      .map((entry) => ({
        api: api.name,
        msg: entry.msg,
        err: (entry.err as { message?: unknown })?.message,
      })),
  );
}

/** Whether the process is still running (not exited, not killed). */
export function alive(api: ApiProcess): boolean {
  return api.child.exitCode === null && api.child.signalCode === null;
}

/** Forgets the info-level log lines kept so far (a long run keeps only warnings and errors). */
export function dropInfoLogs(api: ApiProcess): number {
  const kept = api.lines.filter((line) => !line.startsWith('{"level":30'));
  const dropped = api.lines.length - kept.length;
  api.lines.splice(0, api.lines.length, ...kept);
  return dropped;
}
