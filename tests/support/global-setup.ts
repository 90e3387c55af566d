import { Redis } from 'ioredis';
import pg from 'pg';
import { TEST_DATABASE_URL } from './test-database.js';
import { TEST_REDIS_URL } from './test-redis.js';

/**
 * The suite runs on real servers. When PostgreSQL or Redis does not answer, every test that needs
 * it would fail one by one; fail once, loudly, with what to do instead. Never skip.
 */
export default async function checkServers(): Promise<void> {
  await Promise.all([checkPostgres(), checkRedis()]);
}

async function checkPostgres(): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (error) {
    throw new Error(
      `The tests need PostgreSQL at ${TEST_DATABASE_URL} (set TEST_DATABASE_URL to use another): ${String(error)}`,
    );
  } finally {
    await client.end().catch(() => {});
  }
}

async function checkRedis(): Promise<void> {
  const client = new Redis(TEST_REDIS_URL, { lazyConnect: true, connectTimeout: 5_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    throw new Error(`The tests need Redis at ${TEST_REDIS_URL} (set TEST_REDIS_URL to use another): ${String(error)}`);
  } finally {
    client.disconnect();
  }
}
