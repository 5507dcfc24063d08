import { readdirSync, readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import * as syncCore from './index.ts';

test('the package exposes every decision the API and the extension call', () => {
  expect(Object.keys(syncCore).sort()).toMatchInlineSnapshot(`
    [
      "afterFullSync",
      "applyChanges",
      "baseVersionFor",
      "compareNotes",
      "decideDelete",
      "decideUpsert",
      "decodeCursor",
      "decodeCursorPosition",
      "defaultBudgetPolicy",
      "defaultThrottlePolicy",
      "encodeCursor",
      "encodeCursorPosition",
      "isBudgetFull",
      "mergeOnlyFansSnapshot",
      "planSync",
      "sequenceMutations",
      "sortNotes",
      "takeFromBudget",
    ]
  `);
});

// The same decisions run in the API and in the extension, and replay in tests, only because they read
// nothing but their arguments: no clock, timers, randomness, environment or I/O.
test('sync-core stays pure: its code reads no clock, timer, randomness or I/O', () => {
  const sourceDir = new URL('./', import.meta.url);
  const sources = readdirSync(sourceDir).filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'));
  expect(sources).toContain('plan.ts');
  const forbidden =
    /Date\.now|new Date\b|performance\.|setTimeout|setInterval|Math\.random|crypto\.|process\.|\bfetch\(|\bimport\(/;
  for (const file of sources) {
    const code = readFileSync(new URL(file, sourceDir), 'utf8');
    expect(code, file).not.toMatch(forbidden);
    for (const [, specifier] of code.matchAll(
      /^(?:import|export)\b(?![^\n]*\btype\b)[^\n]*from '([^']+)'/gm,
    )) {
      expect(specifier, `${file} imports ${specifier} at run time`).toMatch(/^\.\/[a-z-]+\.ts$/);
    }
  }
});
