import type { Logger } from 'pino';
import type { QueueAdapter } from '../../adapters/queue-adapter.js';
import type { Config } from '../config.js';
import type { ConfiguredDatabase } from './configured-database.js';
import { deliveryChannel } from './deployment-channels.js';

/**
 * The queue adapter `QUEUE_ADAPTER` names, on the configured database or Redis. Each adapter's
 * module is loaded only when it is the one configured: a process on postgres never loads
 * bee-queue and ioredis (see tests/process/loaded-packages.test.ts).
 */
export async function createConfiguredAdapter(config: Config, database: ConfiguredDatabase, logger: Logger): Promise<QueueAdapter> {
  const onError = (error: Error): void => logger.warn({ err: error }, `${config.QUEUE_ADAPTER} queue adapter: ${error.message}`);
  switch (config.QUEUE_ADAPTER) {
    case 'memory': {
      const { createMemoryAdapter } = await import('../../adapters/memory/memory-adapter.js');
      return createMemoryAdapter();
    }
    case 'postgres': {
      const { createPostgresAdapter } = await import('../../adapters/postgres/postgres-adapter.js');
      return createPostgresAdapter({
        db: database.db,
        connectionString: database.connectionString,
        channel: deliveryChannel(database.schema),
        pollIntervalMs: config.POLL_INTERVAL_MS,
        // A dead consumer's deliveries come back as soon as the store's lease would.
        lockMs: config.LEASE_MS,
        onError,
      });
    }
    case 'redis': {
      if (config.REDIS_URL === undefined) throw new Error('invalid configuration: REDIS_URL is required when QUEUE_ADAPTER is redis');
      const { createRedisAdapter } = await import('../../adapters/redis/redis-adapter.js');
      return createRedisAdapter({
        url: config.REDIS_URL,
        keyPrefix: `jobql:${database.schema ?? 'public'}`,
        // A dead consumer's prefetched deliveries come back after about a lease, as its tasks do.
        stallIntervalMs: config.LEASE_MS,
        onError,
      });
    }
  }
}
