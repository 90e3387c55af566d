import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRedisAdapter } from '../../adapters/redis/redis-adapter.js';
import type { RedisAdapterOptions, RedisQueueAdapter } from '../../adapters/redis/redis-adapter.js';
import type { Delivery } from '../../adapters/queue-adapter.js';
import { withRedis } from '../support/redis-keys.js';
import { activeResources, expectNothingLeft, REDIS_SOURCES } from '../support/redis-resources.js';
import { trackResources } from '../support/resource-tracker.js';
import { startRedisServer } from '../support/redis-server.js';
import type { RedisServer } from '../support/redis-server.js';
import { createGate, createRecorder, makeDeliveries, makeDelivery, sleep, uniqueQueue, waitFor } from './contract-helpers.js';

/** The redis adapter when its server goes away: on a redis-server of this file's own. */
describe('redis adapter across server restarts', () => {
  let server: RedisServer;
  let adapter: RedisQueueAdapter | undefined;
  const errors: Error[] = [];

  const open = (options: Partial<RedisAdapterOptions> = {}): RedisQueueAdapter => {
    adapter = createRedisAdapter({
      url: server.url,
      stallIntervalMs: 2_000,
      lossCheckIntervalMs: 60_000, // only reconnections look for a loss here
      onError: (error) => errors.push(error),
      ...options,
    });
    return adapter;
  };

  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server.stop();
  });
  beforeEach(async () => {
    errors.length = 0;
    if (!server.running) await server.start();
  });
  afterEach(async () => {
    await adapter?.close();
    adapter = undefined;
  });

  it('resumes consuming after a restart mid-consumption; a late acknowledgement is harmless', async () => {
    const redis = open();
    let notices = 0;
    redis.onDeliveriesLost(() => (notices += 1));
    const queue = uniqueQueue('restart');
    const gate = createGate();
    const held = makeDelivery(queue, { taskId: 'held', priority: 9 });
    const recorder = createRecorder({ holdMs: 20 });
    const handle = async (delivery: Delivery): Promise<void> => {
      await recorder.handle(delivery);
      if (delivery.taskId === held.taskId) await gate.opened;
    };
    redis.consume({ queues: [queue], concurrency: 2, handle });
    const before = makeDeliveries(queue, 10);
    await redis.enqueue({ deliveries: [held, ...before] });
    await waitFor(() => recorder.count(`${held.taskId}:1`) === 1 && recorder.finished.length >= 3, 'work under way', 10_000);

    await server.restart({ downMs: 300 });
    gate.open(); // its acknowledgement goes to a server that no longer knows it

    const after = makeDeliveries(queue, 10);
    await redis.enqueue({ deliveries: after });
    await waitFor(() => recorder.hasAll(after), 'the deliveries enqueued after the restart', 15_000);
    await waitFor(() => notices === 1, 'the lost-deliveries notice', 10_000);
    expect(errors.length).toBeGreaterThan(0); // the lost connections were reported, not thrown
  });

  it('waits out a short outage in enqueue, then delivers', async () => {
    const redis = open();
    const queue = uniqueQueue('outage');
    const recorder = createRecorder();
    redis.consume({ queues: [queue], concurrency: 1, handle: recorder.handle });
    await redis.enqueue({ deliveries: makeDeliveries(queue, 1) }); // connections made
    await waitFor(() => recorder.finished.length === 1, 'the first delivery', 10_000);

    await server.stop();
    const during = makeDelivery(queue);
    const enqueued = redis.enqueue({ deliveries: [during] });
    await sleep(300);
    await server.start();
    await enqueued;
    await waitFor(() => recorder.hasAll([during]), 'the delivery enqueued during the outage', 15_000);
  });

  it('starts a consumer while Redis is down, which takes deliveries once it is back', async () => {
    await server.stop();
    const redis = open();
    const queue = uniqueQueue('late-start');
    const recorder = createRecorder();
    redis.consume({ queues: [queue], concurrency: 2, handle: recorder.handle });
    await sleep(500);
    await server.start();
    const deliveries = makeDeliveries(queue, 5);
    await redis.enqueue({ deliveries });
    await waitFor(() => recorder.hasAll(deliveries), 'every delivery', 15_000);
  });

  it('tells its listeners when the server comes back empty, and not on a mere reconnection', async () => {
    const redis = open();
    let notices = 0;
    redis.onDeliveriesLost(() => (notices += 1));
    await redis.enqueue({ deliveries: makeDeliveries(uniqueQueue('loss'), 1) });
    await sleep(100);

    // Same data, new connection: CLIENT KILL makes ioredis reconnect to a server that lost nothing.
    await withRedis(server.url, (client) => client.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'));
    await sleep(500);
    expect(notices).toBe(0);

    await server.restart();
    await waitFor(() => notices === 1, 'the lost-deliveries notice', 10_000);
  });

  it('closes while Redis is down before its consumers could start', async () => {
    await server.stop();
    const redis = open();
    redis.consume({ queues: [uniqueQueue('never-started')], concurrency: 1, handle: createRecorder().handle });
    await sleep(300);
    const startedMs = Date.now();
    await redis.close();
    adapter = undefined;
    expect(Date.now() - startedMs).toBeLessThan(2_000);
  });

  it('closes while Redis is down, with an acknowledgement pending, leaving no timer or socket', async () => {
    const tracker = trackResources(REDIS_SOURCES);
    const gate = createGate();
    try {
      const before = activeResources();
      const redis = open();
      const queue = uniqueQueue('down-close');
      const recorder = createRecorder({ gate });
      redis.consume({ queues: [queue], concurrency: 2, handle: recorder.handle });
      await redis.enqueue({ deliveries: makeDeliveries(queue, 2) });
      await waitFor(() => recorder.inFlight === 2, 'both deliveries in handle', 10_000);
      expect(await tracker.alive()).not.toEqual([]); // the tracker sees the adapter's resources

      await server.stop();
      await sleep(300); // reconnection attempts under way
      const closing = redis.close();
      gate.open(); // their acknowledgements wait for a Redis that is not there
      const startedMs = Date.now();
      await closing;
      adapter = undefined;
      expect(Date.now() - startedMs).toBeLessThan(5_000);
      expect(recorder.finished).toHaveLength(2);
      await expectNothingLeft(tracker, before);
    } finally {
      gate.open();
      tracker.stop();
    }
  });
});
