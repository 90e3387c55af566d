import { randomBytes } from 'node:crypto';
import { toError } from '../../src/errors/to-error.js';
import type { RawBuilder } from 'kysely';
import type { ConsumeParams, Consumer, Delivery, EnqueueParams, QueueAdapter } from '../queue-adapter.js';
import { assertValidDelivery } from '../queue-adapter.js';
import { NotificationListener } from './notification-listener.js';
import { AcknowledgementBatcher } from './acknowledgement-batcher.js';
import { PostgresConsumer, type ConsumerHandle, type ConsumerPort } from './postgres-consumer.js';
import { claimDeliveries } from './sql/claim-deliveries.js';
import { enqueueDeliveries, enqueueDeliveriesCte } from './sql/enqueue-deliveries.js';
import { nextClaimableAt, postponeDeliveries, releaseDeliveries, renewDeliveryLocks } from './sql/settle-deliveries.js';
import type { QueryExecutorProvider } from 'kysely';

export interface PostgresAdapterOptions {
  /** The store's database, migrated: deliveries live in its `queue_deliveries` table. */
  readonly db: QueryExecutorProvider;
  /** For the LISTEN connection, which cannot come from the pool. */
  readonly connectionString: string;
  /** The NOTIFY channel; deployments sharing one database in several schemas give each its own. */
  readonly channel?: string;
  /** The longest an idle consumer sleeps before polling; NOTIFY wakes it sooner. */
  readonly pollIntervalMs?: number;
  /** How long a consumer's hold on a delivery lasts without renewal (it renews every third of it). */
  readonly lockMs?: number;
  readonly onError?: (error: Error) => void;
}

export interface PostgresQueueAdapter extends QueueAdapter {
  enqueueCte(deliveries: readonly Delivery[]): RawBuilder<unknown>;
  /** Dies as kill -9 would its process: no more claims, acknowledgements, renewals or LISTEN. */
  crash(): Promise<void>;
}

/**
 * Deliveries as rows of `queue_deliveries` in the store's own database.
 *
 * - Enqueue is transactional: given the store's transaction, the rows and their NOTIFY commit
 *   with the task rows, so no task is ever committed without its delivery; `enqueueCte` puts the
 *   same insert into the store's own statement (a submission is then one statement).
 * - A consumer claims a batch in one statement (`FOR UPDATE SKIP LOCKED` in a CTE feeding
 *   `UPDATE … RETURNING`, see `sql/claim-deliveries.ts`), locks it for `lockMs`, renews the lock
 *   while handling, and deletes the row when the handle settles: the acknowledgement rides on
 *   the consumer's next claim, or goes in a batch of its own when none comes soon.
 *   A consumer that dies stops renewing; its rows become claimable when the lock runs out.
 * - Idle consumers sleep until the next delivery is due or `pollIntervalMs` passes; NOTIFY on a
 *   dedicated, self-reconnecting connection wakes them at once. The poll is the guarantee,
 *   NOTIFY only the speed: a listener that is down delays deliveries but loses none.
 */
export function createPostgresAdapter(options: PostgresAdapterOptions): PostgresQueueAdapter {
  const { db } = options;
  const channel = options.channel ?? 'jobql_deliveries';
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const lockMs = options.lockMs ?? 30_000;
  if (!(pollIntervalMs > 0)) throw new RangeError(`pollIntervalMs must be positive, got ${pollIntervalMs}`);
  if (!(lockMs >= 100)) throw new RangeError(`lockMs must be at least 100, got ${lockMs}`);
  const instanceId = randomBytes(4).toString('hex');
  const reportError = (error: unknown): void => {
    options.onError?.(toError(error));
  };

  const consumers = new Set<ConsumerHandle>();
  const acknowledgements = new AcknowledgementBatcher(db, reportError);
  let listener: NotificationListener | undefined;
  let renewTimer: NodeJS.Timeout | undefined;
  let consumerCount = 0;
  let closing: Promise<void> | undefined;
  let dead = false;

  const wakeQueue = (queue: string): void => {
    for (const consumer of consumers) if (consumer.queues.includes(queue)) consumer.wake();
  };
  const wakeAll = (): void => {
    for (const consumer of consumers) consumer.wake();
  };

  const renewLocks = async (): Promise<void> => {
    const now = new Date();
    await Promise.all(
      [...consumers].filter((c) => c.holding).map((c) => renewDeliveryLocks(db, c.id, now, lockMs).catch(reportError)),
    );
  };

  const startBackground = (): void => {
    listener ??= new NotificationListener({
      connectionString: options.connectionString,
      channels: [channel],
      onNotification: (_channel, queue) => wakeQueue(queue),
      onListening: wakeAll, // notifications sent while it was away are lost: look now
      onError: reportError,
    });
    renewTimer ??= setInterval(() => void renewLocks(), Math.floor(lockMs / 3));
  };

  const stopBackground = async (): Promise<void> => {
    if (renewTimer !== undefined) clearInterval(renewTimer);
    renewTimer = undefined;
    const closingListener = listener;
    listener = undefined;
    await closingListener?.close();
  };

  const port: ConsumerPort = {
    pollIntervalMs,
    async claim(consumerId, queues, limit, companion) {
      const acknowledged = acknowledgements.take(consumerId);
      try {
        return await claimDeliveries(db, { queues, now: new Date(), limit, consumerId, lockMs, acknowledged }, companion);
      } catch (error) {
        for (const delivery of acknowledged) acknowledgements.add(consumerId, delivery); // written by the next claim or on their own
        throw error;
      }
    },
    nextClaimableAt: (queues) => nextClaimableAt(db, queues),
    acknowledge: (consumerId, delivery) => acknowledgements.add(consumerId, delivery),
    release: (consumerId, deliveries) => releaseDeliveries(db, consumerId, deliveries),
    postpone: (consumerId, delivery, until) => postponeDeliveries(db, consumerId, [delivery], until),
    flushAcknowledgements: () => acknowledgements.flushed(),
    reportError,
    onStop(consumer) {
      consumers.delete(consumer);
      if (consumers.size === 0) void stopBackground();
    },
  };

  return {
    name: 'postgres',
    capabilities: { priority: 'exact', delayedDelivery: true, transactionalEnqueue: true, survivesConsumerDeath: true },

    async enqueue({ deliveries, executor }: EnqueueParams): Promise<void> {
      if (closing !== undefined || dead) throw new Error('postgres queue adapter is closed: cannot enqueue');
      deliveries.forEach(assertValidDelivery);
      if (deliveries.length === 0) return;
      await enqueueDeliveries(executor ?? db, deliveries, channel);
    },

    enqueueCte(deliveries: readonly Delivery[]) {
      if (closing !== undefined || dead) throw new Error('postgres queue adapter is closed: cannot enqueue');
      deliveries.forEach(assertValidDelivery);
      return enqueueDeliveriesCte(deliveries, channel);
    },

    consume<T>(params: ConsumeParams<T>): Consumer {
      if (closing !== undefined || dead) throw new Error('postgres queue adapter is closed: cannot consume');
      const consumer = new PostgresConsumer(`${instanceId}-${++consumerCount}`, params, port);
      consumers.add(consumer);
      startBackground();
      consumer.wake();
      return consumer;
    },

    // Rows survive any restart, and the database is the store's: nothing can vanish on its own.
    onDeliveriesLost: () => () => {},

    close(): Promise<void> {
      closing ??= (async () => {
        await Promise.all([...consumers].map((consumer) => consumer.stop()));
        await stopBackground();
        await acknowledgements.flushed();
      })();
      return closing;
    },

    async crash(): Promise<void> {
      dead = true;
      for (const consumer of consumers) consumer.crash();
      consumers.clear();
      acknowledgements.drop();
      await stopBackground();
    },
  };
}
