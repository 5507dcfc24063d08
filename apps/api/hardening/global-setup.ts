import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serverUrl, SOAK_MS, FC_RUNS } from './lib/config.ts';
import { clearParts, readParts, resultsDir } from './lib/figures.ts';

/** Runs once before the files: fail fast without PostgreSQL; forget the last run's parts. */
export default function setup(): () => void {
  serverUrl();
  clearParts();
  const started = new Date();
  return () => {
    const finished = new Date();
    const sections = readParts();
    const run = {
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      durationSeconds: Math.round((finished.getTime() - started.getTime()) / 1000),
      node: process.version,
      commit: gitCommit(),
      settings: { soakMs: SOAK_MS, fcRuns: FC_RUNS },
      ...sections,
    };
    mkdirSync(resultsDir, { recursive: true });
    const file = join(resultsDir, 'last-run.json');
    writeFileSync(file, `${JSON.stringify(run, null, 2)}\n`);
    process.stdout.write(`\nhardening figures: ${file}\n`);
  };
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}
