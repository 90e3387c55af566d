import type { Redis } from 'ioredis';

/**
 * Closes an ioredis connection and settles once its socket is gone. A ready connection quits, so
 * the commands already written still go out; one that is between retries has no socket to wait for.
 */
export async function closeRedisConnection(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
  if (client.status === 'ready') {
    await client.quit().catch(() => client.disconnect());
  } else {
    client.disconnect();
  }
  if (client.status !== 'reconnecting') await ended;
}
