import fc from 'fast-check';

// The suite's knobs, read once. The hardening suite needs a real PostgreSQL server (DATABASE_URL):
// PGlite is one connection, so locks, pools, terminated backends and several processes cannot be shown there.

function integer(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
  }
  return value;
}

/** The PostgreSQL server every test file makes its own database on. */
export function serverUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) {
    throw new Error(
      'The hardening suite runs on a real PostgreSQL server: set DATABASE_URL, e.g. ' +
        'DATABASE_URL=postgres://postgres@127.0.0.1:5432/test pnpm test:hardening',
    );
  }
  return url;
}

/** How long the memory soak runs after its warm-up (default 5 minutes; shorten it locally). */
export const SOAK_MS = integer('HARDENING_SOAK_MS', 300_000);

/** Generated cases per endpoint and surface for each property (fast-check `numRuns`). */
export const FC_RUNS = integer('FC_RUNS', 60);

/** A fixed seed reproduces a failing run's inputs (the failure prints it). */
export const FC_SEED = process.env.FC_SEED ? integer('FC_SEED', 0) : undefined;

/** fast-check's report, with long values (1 MB strings, deep nesting) cut to a readable length. */
function reporter(details: fc.RunDetails<unknown>): void {
  if (!details.failed) return;
  const report = fc.defaultReportMessage(details) ?? 'property failed';
  const short = report.replace(
    /(.)\1{200,}/gs,
    (run, char: string) => `${char.repeat(20)}…(${run.length} × ${JSON.stringify(char)})`,
  );
  throw new Error(short.length > 8000 ? `${short.slice(0, 8000)}…` : short, { cause: details.errorInstance });
}

export const fcParams: fc.Parameters<unknown> = {
  numRuns: FC_RUNS,
  reporter,
  ...(FC_SEED === undefined ? {} : { seed: FC_SEED }),
};
