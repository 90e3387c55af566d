import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Node loads graphql's CommonJS build (its package names no ES entry Node reads); vite would pick
    // its ES build for our sources while the libraries get the CommonJS one: two graphql modules,
    // whose schemas and errors the other does not accept. One copy, as in production.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: the end-to-end and fault tests each start servers of their own.
    maxWorkers: 2,
    globalSetup: ['tests/support/global-setup.ts'],
  },
});
