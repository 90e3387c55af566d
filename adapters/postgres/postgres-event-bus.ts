import { MAX_CHANNEL_BYTES, NotificationListener } from './notification-listener.js';
import { NotifySender } from './notify-sender.js';
import { busChannels, createRelayedEventBus, type RelayedEventBus } from '../bus/relayed-event-bus.js';
import type { JobEvent } from '../../src/domain/job-event.js';
import type { EventRef } from '../bus/wire-format.js';
import type { QueryExecutorProvider } from 'kysely';

export interface PostgresEventBusOptions {
  /** Sends NOTIFYs. */
  readonly db: QueryExecutorProvider;
  /** Reads an event too big to travel from the store, where the one who sent it wrote it. */
  readonly loadEvent: (ref: EventRef) => Promise<JobEvent | undefined>;
  /** For the one LISTEN connection. */
  readonly connectionString: string;
  /** Names this bus's channels: buses sharing a database with other deployments need their own. */
  readonly channel: string;
  readonly onError?: (error: Error) => void;
}

/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more. */
const MAX_PAYLOAD_BYTES = 7_999;

/**
 * An event bus over LISTEN/NOTIFY. An event whose message would pass the payload limit travels
 * as a reference to its row in `job_events`, which the receiving bus reads through `db`. A
 * statement that writes events can send their messages itself (`statementNotify`), in the same
 * format, at its commit.
 */
export function createPostgresEventBus(options: PostgresEventBusOptions): RelayedEventBus {
  const channels = busChannels(options.channel);
  for (const name of Object.values(channels)) {
    if (Buffer.byteLength(name) > MAX_CHANNEL_BYTES) {
      throw new Error(`event bus channel "${name}" is longer than PostgreSQL's ${MAX_CHANNEL_BYTES} bytes`);
    }
  }
  return createRelayedEventBus(
    { maxMessageBytes: MAX_PAYLOAD_BYTES, loadEvent: options.loadEvent, onError: options.onError, statementChannel: channels.events },
    (inbound) => {
      const sender = new NotifySender(options.db, inbound.report);
      const listener = new NotificationListener({
        connectionString: options.connectionString,
        channels: [channels.events, channels.cancel],
        onNotification: (channel, payload) => inbound.receive(channel === channels.cancel ? 'cancel' : 'events', payload),
        onListening: inbound.listening,
        onError: inbound.report,
      });
      return {
        send: (purpose, messages) => sender.send(channels[purpose], messages),
        listening: () => listener.listening,
        async close() {
          // The caller may close `db` once this returns: the last NOTIFYs go first.
          await sender.flush();
          await listener.close();
        },
      };
    },
  );
}
