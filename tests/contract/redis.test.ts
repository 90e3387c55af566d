import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createRedisAdapter } from '../../adapters/redis/redis-adapter.js';
import type { RedisAdapterOptions, RedisQueueAdapter } from '../../adapters/redis/redis-adapter.js';
import { deliveryId } from '../../adapters/queue-adapter.js';
import { deleteKeys, listKeys, withRedis } from '../support/redis-keys.js';
import { activeResources, expectNothingLeft, REDIS_SOURCES } from '../support/redis-resources.js';
import { trackResources } from '../support/resource-tracker.js';
import { TEST_REDIS_URL } from '../support/test-redis.js';
import { createGate, createRecorder, makeDelivery, sleep, uniqueQueue, waitFor } from './contract-helpers.js';
import { describeQueueAdapter } from './describe-queue-adapter.js';

// One prefix per file: the contract's queue names are unique per test, and the consumer-death
// test's second adapter must see the first one's queues.
const keyPrefix = `jobql-test-${randomUUID().slice(0, 8)}`;
// Short enough for the consumer-death test, long enough that a busy machine does not stall a live job.
const STALL_INTERVAL_MS = 2_000;

const contractErrors: Error[] = [];

describeQueueAdapter(
  'redis',
  async () =>
    createRedisAdapter({ url: TEST_REDIS_URL, keyPrefix, stallIntervalMs: STALL_INTERVAL_MS, onError: (error) => contractErrors.push(error) }),
  { crash: (adapter) => (adapter as RedisQueueAdapter).crash(), timeoutMs: 20_000 },
);

it('reported no error during the contract suite', () => {
  expect(contractErrors.map((error) => error.message)).toEqual([]);
});

// What the redis adapter promises beyond the shared contract, on the machine's Redis.
describe('redis adapter specifics', () => {
  const adapters: RedisQueueAdapter[] = [];
  const errors: Error[] = [];
  const open = (options: Partial<RedisAdapterOptions> = {}): RedisQueueAdapter => {
    const adapter = createRedisAdapter({
      url: TEST_REDIS_URL,
      keyPrefix,
      stallIntervalMs: STALL_INTERVAL_MS,
      onError: (error) => errors.push(error),
      ...options,
    });
    adapters.push(adapter);
    return adapter;
  };
  afterEach(async () => {
    await Promise.all(adapters.splice(0).map((adapter) => adapter.close()));
    expect(errors.map((error) => error.message)).toEqual([]);
    errors.length = 0;
  });

  it('hands out bands in order with concurrency 1: high, normal, low, first in first out within each', async () => {
    const adapter = open();
    const queue = uniqueQueue('bands');
    const gate = createGate();
    const blocker = makeDelivery(queue, { taskId: 'blocker', priority: 10 });
    const recorder = createRecorder({ gate });
    adapter.consume({ queues: [queue], concurrency: 1, handle: recorder.handle });
    await adapter.enqueue({ deliveries: [blocker] });
    await waitFor(() => recorder.inFlight === 1, 'the blocker in handle', 10_000);

    // Enqueue order mixes the bands; each band's own order is what FIFO is about.
    const priorities = [2, 9, 5, 1, 10, 4, 3, 8, 7, 6, 2, 9, 5, 1, 10, 4];
    const deliveries = priorities.map((priority, i) => makeDelivery(queue, { taskId: `p${priority}-${i}`, priority }));
    await adapter.enqueue({ deliveries });
    try {
      await sleep(300); // every band takes its first delivery ahead, to wait at the gate
    } finally {
      gate.open();
    }
    await waitFor(() => recorder.hasAll(deliveries), 'every delivery', 10_000);

    const band = (priority: number): number => (priority >= 8 ? 0 : priority >= 4 ? 1 : 2);
    const expected = [...deliveries].sort((a, b) => band(a.priority) - band(b.priority)).map((d) => d.taskId);
    expect(recorder.handled.map(({ delivery }) => delivery.taskId)).toEqual(['blocker', ...expected]);
  });

  it('gives back, when stopped, a delivery it held but had not started, to the back of its band', async () => {
    const adapter = open();
    const queue = uniqueQueue('give-back');
    const gate = createGate();
    const running = makeDelivery(queue, { taskId: 'running', priority: 9 });
    const held = makeDelivery(queue, { taskId: 'held', priority: 2 });
    const first = createRecorder({ gate });
    const consumer = adapter.consume({ queues: [queue], concurrency: 1, handle: first.handle });
    const lowKey = (suffix: string): string => `${keyPrefix}:${queue}@low:${suffix}`;
    try {
      await adapter.enqueue({ deliveries: [running] });
      await waitFor(() => first.inFlight === 1, 'the high delivery in handle', 10_000);
      await adapter.enqueue({ deliveries: [held] });
      // The low band's worker takes its delivery ahead, to wait at the gate behind the high one.
      // Taken means in its active list, then one more read of the job: leave time for that read.
      const taken = async (): Promise<boolean> =>
        (await withRedis(TEST_REDIS_URL, (r) => r.lrange(lowKey('active'), 0, -1))).includes(deliveryId(held));
      await waitForAsync(taken);
      await sleep(200);
      expect(await taken()).toBe(true);
      const stopped = consumer.stop();
      gate.open();
      await stopped;
    } finally {
      gate.open();
    }
    expect(first.handled.map(({ delivery }) => delivery.taskId)).toEqual(['running']);
    expect(await withRedis(TEST_REDIS_URL, (r) => r.lrange(lowKey('waiting'), 0, -1))).toEqual([deliveryId(held)]);

    const second = createRecorder();
    adapter.consume({ queues: [queue], concurrency: 1, handle: second.handle });
    await waitFor(() => second.hasAll([held]), 'the held delivery, in another consumer', 10_000);
    await sleep(200);
    expect(second.count(deliveryId(held))).toBe(1);
  });

  it('tells its listeners when the marker disappears, once, and not before', async () => {
    const adapter = open({ lossCheckIntervalMs: 100 });
    let notices = 0;
    const unsubscribe = adapter.onDeliveriesLost(() => {
      notices += 1;
    });
    await adapter.enqueue({ deliveries: [makeDelivery(uniqueQueue('marker'))] }); // connected, marker read
    await sleep(400);
    expect(notices).toBe(0);

    expect(await withRedis(TEST_REDIS_URL, (redis) => redis.del(`${keyPrefix}:marker`))).toBe(1);
    await waitFor(() => notices === 1, 'the lost-deliveries notice', 5_000);
    await sleep(400);
    expect(notices).toBe(1);
    unsubscribe();
  });

  it('tells another adapter too, when the first one to look has written the marker again', async () => {
    const first = open({ lossCheckIntervalMs: 60_000 });
    const second = open({ lossCheckIntervalMs: 150 });
    let notices = 0;
    second.onDeliveriesLost(() => (notices += 1));
    await Promise.all([first, second].map((a) => a.enqueue({ deliveries: [makeDelivery(uniqueQueue('epoch'))] })));
    await sleep(300);

    // As if Redis lost its data and another adapter looked first: a marker of someone else's.
    await withRedis(TEST_REDIS_URL, (redis) => redis.set(`${keyPrefix}:marker`, 'written-by-another-adapter'));
    await waitFor(() => notices === 1, 'the notice in the second adapter', 5_000);
  });

  it('keeps nothing in Redis for a delivery once acknowledged, and takes its id again', async () => {
    const prefix = `jobql-test-${randomUUID().slice(0, 8)}`;
    const isolated = open({ keyPrefix: prefix });
    const queue = uniqueQueue('clean');
    const delivery = makeDelivery(queue, { priority: 3 });
    const recorder = createRecorder();
    isolated.consume({ queues: [queue], concurrency: 1, handle: recorder.handle });
    await isolated.enqueue({ deliveries: [delivery] });
    await waitFor(() => recorder.finished.length === 1, 'the delivery acknowledged', 10_000);
    await sleep(200);
    const jobKeys = (await listKeys(TEST_REDIS_URL, prefix)).filter((key) => !key.endsWith(':stallBlock'));
    expect(jobKeys).toEqual([`${prefix}:marker`]);

    await isolated.enqueue({ deliveries: [delivery] });
    await waitFor(() => recorder.count(deliveryId(delivery)) === 2, 'the same delivery again', 10_000);
    await isolated.close();
    await deleteKeys(TEST_REDIS_URL, prefix);
  });

  it('leaves no timer or socket behind after close()', async () => {
    const tracker = trackResources(REDIS_SOURCES);
    const gate = createGate();
    try {
      const before = activeResources();
      const adapter = open();
      const [queue, other] = [uniqueQueue('leak'), uniqueQueue('leak-other')];
      const recorder = createRecorder({ gate });
      adapter.consume({ queues: [queue, other], concurrency: 2, handle: recorder.handle });
      adapter.consume({ queues: [other], concurrency: 1, handle: createRecorder().handle });
      await adapter.enqueue({
        deliveries: [
          makeDelivery(queue, { priority: 9 }),
          makeDelivery(queue, { priority: 2 }),
          makeDelivery(queue, { runAt: new Date(Date.now() + 60_000) }),
        ],
      });
      await waitFor(() => recorder.inFlight === 2, 'two deliveries in handle', 10_000);
      expect(activeResources().TCPSocketWrap).toBeGreaterThan(before.TCPSocketWrap);
      expect(await tracker.alive()).not.toEqual([]); // the tracker sees the adapter's resources
      const closed = adapter.close();
      gate.open();
      await closed;

      await expectNothingLeft(tracker, before);
    } finally {
      gate.open();
      tracker.stop();
    }
  });

  it('rejects enqueue and consume after close(), and bad options or deliveries', async () => {
    const adapter = open();
    await expect(adapter.enqueue({ deliveries: [makeDelivery('q', { runAt: new Date(Number.NaN) })] })).rejects.toThrow(TypeError);
    expect(() => adapter.consume({ queues: ['q'], concurrency: 0, handle: async () => {} })).toThrow(RangeError);
    expect(() => adapter.consume({ queues: [], concurrency: 1, handle: async () => {} })).toThrow(RangeError);
    expect(() => createRedisAdapter({ url: TEST_REDIS_URL, stallIntervalMs: 0 })).toThrow(RangeError);
    await adapter.close();
    await expect(adapter.enqueue({ deliveries: [makeDelivery('q')] })).rejects.toThrow(/closed/);
    expect(() => adapter.consume({ queues: ['q'], concurrency: 1, handle: async () => {} })).toThrow(/closed/);
  });
});

afterAll(async () => {
  await deleteKeys(TEST_REDIS_URL, keyPrefix);
});

async function waitForAsync(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(20);
  }
}
