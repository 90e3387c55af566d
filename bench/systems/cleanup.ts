import { Redis } from 'ioredis';
import pg from 'pg';
import type { BenchEnvironment } from '../lib/environment.js';

/** What a session leaves behind goes with it: its schema in PostgreSQL, its keys in Redis. */

export async function dropSchema(env: BenchEnvironment, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: env.databaseUrl });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}

export async function deleteRedisKeys(env: BenchEnvironment, pattern: string): Promise<void> {
  const redis = new Redis(env.redisUrl, { lazyConnect: true });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
