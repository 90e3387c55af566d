import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: the end-to-end and fault tests each start servers of their own.
    maxWorkers: 2,
    globalSetup: ['tests/support/global-setup.ts'],
  },
});
