import { Redis } from 'ioredis';
import { closeConnection } from './close-connection.js';
import { busChannels, createRelayedEventBus, type RelayedEventBus } from '../bus/relayed-event-bus.js';

export interface RedisEventBusOptions {
  readonly url: string;
  /** Names this bus's channels: buses sharing a Redis with other deployments need their own. */
  readonly channel: string;
  readonly onError?: (error: Error) => void;
}

/**
 * An event bus over Redis pub/sub: one connection publishes, one subscribes. ioredis reconnects
 * both and subscribes again by itself; messages published meanwhile are lost to this process.
 */
export function createRedisEventBus(options: RedisEventBusOptions): RelayedEventBus {
  const channels = busChannels(options.channel);

  return createRelayedEventBus({ onError: options.onError }, (inbound) => {
    const connectionName = `jobql-event-bus-${options.channel}`.replace(/[^\w.:-]/g, '_');
    // A publish waits out one reconnect at most, then fails to onError: the bus holds no backlog.
    const publisher = new Redis(options.url, { connectionName, maxRetriesPerRequest: 1 });
    // The subscription waits for the server however long it takes.
    const subscriber = new Redis(options.url, { connectionName, maxRetriesPerRequest: null });
    publisher.on('error', inbound.report);
    subscriber.on('error', inbound.report);
    subscriber.on('message', (channel: string, payload: string) =>
      inbound.receive(channel === channels.cancel ? 'cancel' : 'events', payload),
    );
    // ioredis subscribes again by itself after each reconnect.
    subscriber.subscribe(channels.events, channels.cancel).then(() => inbound.listening(), inbound.report);

    return {
      send(purpose, messages) {
        // One connection keeps commands in order, so these need not wait for each other.
        for (const message of messages) publisher.publish(channels[purpose], message).catch(inbound.report);
      },
      // ioredis is 'ready' once connected; it subscribes again before anything else it sends.
      listening: () => subscriber.status === 'ready',
      async close() {
        await Promise.all([closeConnection(publisher), closeConnection(subscriber)]);
      },
    };
  });
}
