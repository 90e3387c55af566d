import { Redis } from 'ioredis';

/** Runs `use` with a fresh client, then quits it and waits until its socket is gone. */
export async function withRedis<T>(url: string, use: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    return await use(client);
  } finally {
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    await client.quit().catch(() => client.disconnect());
    await ended;
  }
}

/** Deletes every key under `prefix:` (SCAN, never FLUSHDB: the server is shared). */
export async function deleteKeys(url: string, prefix: string): Promise<number> {
  return withRedis(url, async (client) => {
    let deleted = 0;
    for (const key of await scanKeys(client, prefix)) deleted += await client.del(key);
    return deleted;
  });
}

/** Every key under `prefix:`, sorted. */
export function listKeys(url: string, prefix: string): Promise<string[]> {
  return withRedis(url, (client) => scanKeys(client, prefix));
}

async function scanKeys(client: Redis, prefix: string): Promise<string[]> {
  const keys = new Set<string>();
  let cursor = '0';
  do {
    const [next, found] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1_000);
    cursor = next;
    for (const key of found) keys.add(key);
  } while (cursor !== '0');
  return [...keys].sort();
}
