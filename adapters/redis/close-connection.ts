import type { Redis } from 'ioredis';

/**
 * Quits a ready `client` (its commands already written still go out) unless bee-queue is quitting
 * it already, disconnects one that is not ready (a quit would wait for Redis), and resolves once
 * its socket is gone; between retries there is none to wait for.
 */
export async function closeConnection(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
  if (client.status !== 'ready') {
    const hasSocket = client.status !== 'reconnecting';
    client.disconnect();
    if (hasSocket) await ended;
    return;
  }
  // A BeeQueueRedis says when bee-queue is quitting it already.
  if (!(client as { readonly closing?: boolean }).closing) {
    await client.quit().catch(() => {
      if (client.status !== 'end') client.disconnect();
    });
  }
  await ended;
}
