/**
 * The Redis queue adapter: deliveries are bee-queue jobs, over ioredis.
 *
 * bee-queue on ioredis. bee-queue 2 bundles node-redis 3 and uses a client passed to it only when
 * `constructor.name` is `Redis` or `RedisClient`; an ioredis 5 client answers `EventEmitter`, so
 * bee-queue would silently take it for connection options and connect to localhost:6379 instead.
 * Every client here is a `BeeQueueRedis`, an ioredis subclass whose name is pinned to `Redis` and
 * that provides the node-redis shapes bee-queue calls: `duplicate()` (its blocking and subscriber
 * connections, of the same class and tracked), `batch()` (`saveAll`), `multi().exec()` replies,
 * and script reloading after a restart (see bee-queue-redis.ts). bee-queue is only ever handed a
 * ready client: given one still connecting, it disconnects it for good on the first error.
 *
 * Deliveries. The bee-queue job id is `deliveryId()` (taskId:attempt) and the job data holds the
 * delivery's fields. bee-queue refuses a job id its queue still holds, so enqueueing a pending or
 * running delivery again does nothing; acknowledged jobs are removed (removeOnSuccess/Failure), so
 * Redis holds only what is pending or running, and the id may be enqueued again afterwards. A
 * future `runAt` becomes bee-queue's `delayUntil`; consumers' queues raise delayed jobs when due.
 *
 * Priority bands. bee-queue has no priorities, so each jobql queue is three bee-queue queues,
 * `<queue>@high` (8–10), `@normal` (4–7) and `@low` (1–3). A consumer runs a bee-queue worker on
 * each band of each of its queues, each taking at most `concurrency` jobs: a consumer holds at
 * most 3 × concurrency deliveries (its bounded prefetch; held jobs keep their stall lock). A slot
 * gate lets at most `concurrency` of them into `handle` at once, across bands, most urgent first.
 * What is promised (capability `priority: 'approximate'`):
 * - one consumer hands out a lower band only when it holds nothing more urgent and a look at Redis
 *   (LLEN of the more urgent bands of its queues) finds nothing more urgent waiting, or once it
 *   has held that delivery back for 1 s; so with one consumer, work of a more urgent band that
 *   is due goes first, save for a delivery caught in flight between Redis and the gate;
 * - within a band, deliveries go first in, first out per queue (delayed ones join the back of the
 *   line when due, as do deliveries put back by a stall check or by a stopping consumer); the
 *   priorities inside one band are not ordered among themselves;
 * - across consumers, nothing: each takes its own share ahead of handing it out.
 * Dedupe holds within a band queue: re-enqueueing a delivery with a priority of another band (or
 * another queue) makes a second copy; delivery is at least once, and the store's claim fences it.
 *
 * Stalls and leases. bee-queue moves a job it takes to its active list and renews a stall lock
 * every half `stallIntervalMs`; bee-queue only puts back the jobs of a dead worker when someone
 * runs its stall check, so every consumer runs it on its queues every half interval (a lock in
 * Redis makes it effective once per interval). A crashed consumer's jobs go back to waiting after
 * one to two intervals. Whether a task runs is decided by the store's leases, not by bee-queue: a
 * redelivery (after a stall, a restart or a lost acknowledgement) is fenced by the store's claim.
 *
 * Lost deliveries. A marker key `<prefix>:marker` holds an epoch that each adapter learns at
 * start; a look that finds it missing or changed (Redis restarted empty or was flushed) calls the
 * `onDeliveriesLost` listeners, and the worker enqueues again from the store. The adapter looks
 * whenever its connection becomes ready again and every `lossCheckIntervalMs`.
 *
 * Outages. ioredis reconnects every connection. bee-queue's blocking and subscriber connections
 * wait for Redis however long it is away, so its loops resume by themselves; other commands wait
 * through some reconnection attempts (enqueue about 3 s, then fails so that its caller's
 * reconciler takes over; consumers about 1 s, then fail and are retried or recovered later). An
 * acknowledgement that fails (Redis restarted under it) is harmless: the job is gone with the
 * data, or goes back to waiting and its claim is refused. Every error goes to `onError`.
 *
 * Keys: `<prefix>:<queue>@<band>:{waiting,active,delayed,jobs,stalling,stallBlock}` (bee-queue's)
 * and `<prefix>:marker`.
 */

import { toError } from '../../src/errors/to-error.js';
import { assertValidDelivery } from '../queue-adapter.js';
import type { ConsumeParams, Consumer, EnqueueParams, QueueAdapter } from '../queue-adapter.js';
import type { BeeQueueRedis } from './bee-queue-redis.js';
import { DeliveryProducer } from './delivery-producer.js';
import { LossDetector } from './loss-detector.js';
import { RedisConnections } from './redis-connections.js';
import { RedisConsumer } from './redis-consumer.js';

export interface RedisAdapterOptions {
  readonly url: string;
  /** Starts every key (default `jobql`): deployments sharing one Redis need prefixes of their own. */
  readonly keyPrefix?: string;
  /**
   * bee-queue's stall interval (default 5000 ms): a consumer renews its held jobs every half of
   * it; one not renewed for this long goes back to waiting. Keep it the same for every process.
   */
  readonly stallIntervalMs?: number;
  /** How often to look for a loss of Redis data besides reconnections (default 5000 ms). */
  readonly lossCheckIntervalMs?: number;
  /** Where errors go (connection losses, failed acknowledgements…); default: console.warn. */
  readonly onError?: (error: Error) => void;
}

export interface RedisQueueAdapter extends QueueAdapter {
  /**
   * Dies as kill -9 would kill its process: stops every timer and stall-lock renewal,
   * acknowledges nothing more and drops its connections. For tests of consumer death.
   */
  crash(): Promise<void>;
}

const DEFAULT_KEY_PREFIX = 'jobql';
const DEFAULT_STALL_INTERVAL_MS = 5_000;
const DEFAULT_LOSS_CHECK_INTERVAL_MS = 5_000;
/** Reconnection attempts an enqueue waits through (about 3 s) before it fails. */
const ENQUEUE_RETRIES = 10;
/**
 * Reconnection attempts (about 1 s) consumers' commands wait through: acknowledgements, stall
 * checks and lock renewals ride out a quick restart. Failing sooner costs only redeliveries
 * (fenced by the store), and bounds how long a close during an outage waits for acknowledgements.
 */
const CONSUMER_RETRIES = 5;

export function createRedisAdapter(options: RedisAdapterOptions): RedisQueueAdapter {
  const keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  const stallIntervalMs = positiveInteger('stallIntervalMs', options.stallIntervalMs ?? DEFAULT_STALL_INTERVAL_MS);
  const lossCheckIntervalMs = positiveInteger('lossCheckIntervalMs', options.lossCheckIntervalMs ?? DEFAULT_LOSS_CHECK_INTERVAL_MS);
  if (keyPrefix === '') throw new RangeError('keyPrefix must not be empty');

  let state: 'open' | 'closing' | 'crashed' = 'open';
  const report = createReporter(options.onError ?? warn, () => state === 'crashed');
  const connectionName = keyPrefix.replace(/[^\w.:-]/g, '_'); // CLIENT SETNAME refuses spaces
  const connections = new RedisConnections(options.url, report);
  const producerClient = connections.create(`${connectionName}-producer`, ENQUEUE_RETRIES);
  let consumerClient: BeeQueueRedis | undefined; // opened by the first consume: API-only processes need none
  const producer = new DeliveryProducer({ client: producerClient, keyPrefix, stallIntervalMs }, report);
  const consumers = new Set<RedisConsumer>();
  const lossListeners = new Set<() => void>();
  const lossDetector = new LossDetector({
    client: producerClient,
    markerKey: `${keyPrefix}:marker`,
    intervalMs: lossCheckIntervalMs,
    report,
    onLost() {
      for (const listener of [...lossListeners]) {
        try {
          listener();
        } catch (error) {
          report(toError(error));
        }
      }
    },
  });
  lossDetector.start();
  let closing: Promise<void> | undefined;

  return {
    name: 'redis',
    capabilities: { priority: 'approximate', delayedDelivery: true, transactionalEnqueue: false, survivesConsumerDeath: true },

    async checkReachable(): Promise<void> {
      await producerClient.ping();
    },

    async enqueue({ deliveries }: EnqueueParams): Promise<void> {
      if (state !== 'open') throw new Error('redis queue adapter is closed: cannot enqueue');
      deliveries.forEach(assertValidDelivery);
      if (deliveries.length > 0) await producer.enqueue(deliveries);
    },

    consume<T>(params: ConsumeParams<T>): Consumer {
      if (state !== 'open') throw new Error('redis queue adapter is closed: cannot consume');
      consumerClient ??= connections.create(`${connectionName}-consumer`, CONSUMER_RETRIES);
      const consumer = new RedisConsumer(params, {
        basics: { client: consumerClient, keyPrefix, stallIntervalMs },
        report,
        postpone: (delivery, until) => producer.postpone(delivery, until),
        onStopped: (stopped) => consumers.delete(stopped),
      });
      consumers.add(consumer);
      return consumer;
    },

    onDeliveriesLost(listener: () => void): () => void {
      // A wrapper per subscription, so subscribing one function twice needs two unsubscribes.
      const subscription = (): void => listener();
      lossListeners.add(subscription);
      return () => lossListeners.delete(subscription);
    },

    close(): Promise<void> {
      closing ??= (async () => {
        state = 'closing';
        await Promise.all([...consumers].map((consumer) => consumer.stop()));
        lossDetector.stop();
        await producer.close();
        await connections.close();
      })();
      return closing;
    },

    async crash(): Promise<void> {
      if (state === 'crashed') return;
      state = 'crashed';
      closing ??= Promise.resolve();
      lossDetector.stop();
      // All synchronous up to the drop, so nothing they would still send reaches Redis.
      for (const consumer of consumers) consumer.crash();
      consumers.clear();
      producer.drop();
      await connections.drop();
    },
  };
}

/** One report per error (bee-queue forwards a client's errors to each of its queues); none once crashed. */
function createReporter(onError: (error: Error) => void, silenced: () => boolean): (error: Error) => void {
  const reported = new WeakSet<Error>();
  return (error) => {
    if (silenced() || reported.has(error)) return;
    reported.add(error);
    try {
      onError(error);
    } catch {
      // An onError that throws must not turn a reported error into an uncaught one.
    }
  };
}

function warn(error: Error): void {
  console.warn(`redis queue adapter: ${error.message}`);
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}
