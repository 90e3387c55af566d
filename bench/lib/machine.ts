import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { BenchEnvironment } from './environment.js';

const PACKAGES = ['bee-queue', 'bullmq', 'graphile-worker', 'pg-boss', 'ioredis', 'pg', 'kysely', 'graphql-yoga', 'graphql-ws'];

async function packageVersion(name: string): Promise<string> {
  try {
    const manifest = JSON.parse(await readFile(new URL(`../../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { version?: string };
    return manifest.version ?? '?';
  } catch {
    return 'not installed';
  }
}

/** The machine, the servers and the versions a run measured, as Markdown lines. */
export async function describeMachine(env: BenchEnvironment): Promise<string> {
  const client = new pg.Client({ connectionString: env.databaseUrl });
  await client.connect();
  const postgres = (await client.query<{ server_version: string }>('show server_version')).rows[0]?.server_version ?? '?';
  await client.end();
  const redis = new Redis(env.redisUrl);
  const info = await redis.info('server');
  redis.disconnect();
  const redisVersion = /redis_version:(\S+)/.exec(info)?.[1] ?? '?';
  const cpus = os.cpus();
  const versions = await Promise.all(PACKAGES.map(async (name) => `${name} ${await packageVersion(name)}`));
  return [
    `- ${cpus.length} × ${cpus[0]?.model.trim() ?? 'CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}`,
    `- Node.js ${process.version}; PostgreSQL ${postgres} and Redis ${redisVersion} on loopback`,
    `- ${versions.join(', ')}`,
  ].join('\n');
}
