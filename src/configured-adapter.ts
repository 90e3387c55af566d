import type { Logger } from 'pino';
import { createMemoryAdapter } from '../adapters/memory/memory-adapter.js';
import { createPostgresAdapter } from '../adapters/postgres/postgres-adapter.js';
import type { QueueAdapter } from '../adapters/queue-adapter.js';
import { createRedisAdapter } from '../adapters/redis/redis-adapter.js';
import type { Config } from './config.js';
import type { ConfiguredDatabase } from './configured-database.js';
import { deliveryChannel } from './deployment-channels.js';

/** The queue adapter `QUEUE_ADAPTER` names, on the configured database or Redis. */
export function createConfiguredAdapter(config: Config, database: ConfiguredDatabase, logger: Logger): QueueAdapter {
  const onError = (error: Error): void => logger.warn({ err: error }, `${config.QUEUE_ADAPTER} queue adapter: ${error.message}`);
  switch (config.QUEUE_ADAPTER) {
    case 'memory':
      return createMemoryAdapter();
    case 'postgres':
      return createPostgresAdapter({
        db: database.db,
        connectionString: database.connectionString,
        channel: deliveryChannel(database.schema),
        pollIntervalMs: config.POLL_INTERVAL_MS,
        // A dead consumer's deliveries come back as soon as the store's lease would.
        lockMs: config.LEASE_MS,
        onError,
      });
    case 'redis':
      if (config.REDIS_URL === undefined) throw new Error('invalid configuration: REDIS_URL is required when QUEUE_ADAPTER is redis');
      return createRedisAdapter({
        url: config.REDIS_URL,
        keyPrefix: `jobql:${database.schema ?? 'public'}`,
        // A dead consumer's prefetched deliveries come back after about a lease, as its tasks do.
        stallIntervalMs: config.LEASE_MS,
        onError,
      });
  }
}
