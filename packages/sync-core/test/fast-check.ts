// Shared settings for every property test: 200 runs, unless FC_RUNS says otherwise (a long soak run).
// fast-check prints the seed of a failure; rerun with `FC_SEED=<seed> npx vitest run` to replay the same
// generated cases.
function integerFromEnv(name: 'FC_SEED' | 'FC_RUNS'): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isInteger(value)) throw new Error(`${name} must be an integer, got ${JSON.stringify(text)}`);
  return value;
}

/** FC_RUNS runs (`defaultRuns` without it), and FC_SEED's seed when it is set. */
export function fcParamsFor(defaultRuns: number): { numRuns: number; seed?: number } {
  const seed = integerFromEnv('FC_SEED');
  const numRuns = integerFromEnv('FC_RUNS') ?? defaultRuns;
  return seed === undefined ? { numRuns } : { numRuns, seed };
}

export const fcParams = fcParamsFor(200);
