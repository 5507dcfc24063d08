// fast-check settings for the API's generated tests that drive real processes (so runs are few):
// FC_RUNS overrides the number of runs (a soak), FC_SEED replays a failure's seed (timing still varies).

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
