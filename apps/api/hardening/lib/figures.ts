import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Each test file records what it tried (cases, faults, requests, statuses) into results/parts/; the
// global teardown merges the parts into results/last-run.json, the figures docs/SECURITY.md quotes.

export const resultsDir = fileURLToPath(new URL('../results/', import.meta.url));
const partsDir = join(resultsDir, 'parts');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function merge(into: Record<string, Json>, from: Record<string, Json>): Record<string, Json> {
  for (const [key, value] of Object.entries(from)) {
    const current = into[key];
    into[key] = isObject(current) && isObject(value) ? merge({ ...current }, value) : value;
  }
  return into;
}

/** Adds figures to a section (one section per test file); nested objects merge, values replace. */
export function recordFigures(section: string, figures: Record<string, unknown>): void {
  mkdirSync(partsDir, { recursive: true });
  const file = join(partsDir, `${section}.json`);
  let current: Record<string, Json>;
  try {
    current = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Json>;
  } catch {
    current = {};
  }
  const plain = JSON.parse(JSON.stringify(figures)) as Record<string, Json>;
  writeFileSync(file, `${JSON.stringify(merge(current, plain), null, 2)}\n`);
}

export function clearParts(): void {
  rmSync(partsDir, { recursive: true, force: true });
}

export function readParts(): Record<string, Json> {
  const sections: Record<string, Json> = {};
  let files: string[];
  try {
    files = readdirSync(partsDir).filter((name) => name.endsWith('.json'));
  } catch {
    return sections;
  }
  for (const name of files.sort()) {
    sections[name.replace(/\.json$/, '')] = JSON.parse(readFileSync(join(partsDir, name), 'utf8')) as Json;
  }
  return sections;
}

/** Counts by key, for statuses and outcomes. */
export class Tally {
  readonly counts: Record<string, number> = {};

  add(key: string | number, by = 1): void {
    this.counts[String(key)] = (this.counts[String(key)] ?? 0) + by;
  }

  get(key: string | number): number {
    return this.counts[String(key)] ?? 0;
  }

  get total(): number {
    return Object.values(this.counts).reduce((sum, n) => sum + n, 0);
  }

  /** How many keys are 5xx statuses (keys that are numbers from 500 to 599). */
  get serverErrors(): number {
    return Object.entries(this.counts)
      .filter(([key]) => Number(key) >= 500 && Number(key) <= 599)
      .reduce((sum, [, n]) => sum + n, 0);
  }
}

/** Percentiles of a list of latencies (ms), rounded. */
export function latencySummary(values: number[]): { n: number; p50: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
  return { n: sorted.length, p50: at(0.5), p99: at(0.99), max: Math.round(sorted.at(-1) ?? 0) };
}
