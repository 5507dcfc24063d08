import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// `pnpm test:hardening`: real API processes on real PostgreSQL (DATABASE_URL), attacked on purpose.
// Files run one at a time: they measure latencies, memory and connection counts, which a neighbour's
// load would blur. The memory soak's length is HARDENING_SOAK_MS (default 5 minutes).
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('.', import.meta.url)),
    include: ['**/*.test.ts'],
    globalSetup: ['./global-setup.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
