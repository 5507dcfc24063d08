import { defineConfig } from 'vitest/config';

// End-to-end: the built extension in Debian's Chromium against a real API process (see e2e/).
export default defineConfig({
  test: {
    include: ['e2e/**/*.e2e.ts'],
    testTimeout: 90_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
