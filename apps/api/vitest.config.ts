import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // PGlite start-up is CPU-bound and slow when turbo runs packages in parallel on 2 cores.
    hookTimeout: 60_000,
    testTimeout: 30_000,
  },
});
