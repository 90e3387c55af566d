import { defineConfig } from 'vitest/config';

/** Run alone, after everything else: it loads both cores, and measures a server's memory and latency. */
const LOAD_TESTS = ['tests/fault/hostile-load.test.ts'];

export default defineConfig({
  resolve: {
    // Node loads graphql's CommonJS build (its package names no ES entry Node reads); vite would pick
    // its ES build for our sources while the libraries get the CommonJS one: two graphql modules,
    // whose schemas and errors the other does not accept. One copy, as in production.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: the end-to-end and fault tests each start servers of their own.
    maxWorkers: 2,
    globalSetup: ['tests/support/global-setup.ts'],
    projects: [
      { extends: true, test: { name: 'suite', include: ['tests/**/*.test.ts'], exclude: LOAD_TESTS, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'load', include: LOAD_TESTS, sequence: { groupOrder: 1 } } },
    ],
  },
});
