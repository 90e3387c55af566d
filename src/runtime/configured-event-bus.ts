import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { ConfiguredDatabase } from './configured-database.js';
import { eventBusChannel } from './deployment-channels.js';
import type { EventBus } from '../../adapters/event-bus.js';
import { eventBySeq } from '../store/reads.js';
import { createMemoryEventBus } from '../../adapters/memory/memory-event-bus.js';

const READY_WAIT_MS = 5_000;

/**
 * The event bus that follows the adapter: in-process for memory (one process holds everything),
 * NOTIFY for postgres, pub/sub for redis. It waits a little for the bus to listen, so a worker's
 * first events reach the API; a bus that is slower only delays them (subscribers read the store).
 */
export async function createConfiguredEventBus(config: Config, database: ConfiguredDatabase, logger: Logger): Promise<EventBus> {
  const onError = (error: Error): void => logger.warn({ err: error }, `event bus: ${error.message}`);
  const channel = eventBusChannel(database.schema);
  if (config.QUEUE_ADAPTER === 'memory') return createMemoryEventBus({ onError });
  // Loaded only when configured, as the adapters are: a postgres process never loads ioredis.
  const bus =
    config.QUEUE_ADAPTER === 'redis' && config.REDIS_URL !== undefined
      ? (await import('../../adapters/redis/redis-event-bus.js')).createRedisEventBus({ url: config.REDIS_URL, channel, onError })
      : (await import('../../adapters/postgres/postgres-event-bus.js')).createPostgresEventBus({
          db: database.db,
          loadEvent: (ref) => eventBySeq(database.db, ref),
          connectionString: database.connectionString,
          channel,
          onError,
        });
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), READY_WAIT_MS);
  });
  if ((await Promise.race([bus.ready(), late])) === 'late') logger.warn('event bus is not listening yet; continuing');
  clearTimeout(timer);
  return bus;
}
