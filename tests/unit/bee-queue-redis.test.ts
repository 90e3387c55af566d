import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import Queue from 'bee-queue';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BeeQueueRedis, TakenJobs } from '../../adapters/redis/bee-queue-redis.js';
import { RedisConnections, whenReady } from '../../adapters/redis/redis-connections.js';
import { listKeys, withRedis } from '../support/redis-keys.js';
import { startRedisServer } from '../support/redis-server.js';
import type { RedisServer } from '../support/redis-server.js';
import { TEST_REDIS_URL } from '../support/test-redis.js';

// bee-queue's own test for "is this a client?" (lib/redis.js), which ioredis 5 fails.
const beeQueueRedis = createRequire(import.meta.url)('bee-queue/lib/redis') as { isClient(object: unknown): boolean };

/** bee-queue driven through BeeQueueRedis, on a redis-server of this file's own (not on 6379). */
describe('BeeQueueRedis: bee-queue on ioredis', () => {
  let server: RedisServer;
  let connections: RedisConnections;
  let client: BeeQueueRedis;
  const queues: Queue[] = [];
  const errors: Error[] = [];
  const prefix = `jobql-unit-${randomUUID().slice(0, 8)}`;

  const openQueue = (name: string, settings: Queue.QueueSettings = {}): Queue => {
    const queue = new Queue(name, {
      prefix,
      redis: client as unknown as Queue.QueueSettings['redis'], // typed for node-redis only
      getEvents: false,
      sendEvents: false,
      storeJobs: false,
      ...settings,
    });
    queue.on('error', (error) => errors.push(error));
    queues.push(queue);
    return queue;
  };

  beforeAll(async () => {
    server = await startRedisServer();
    connections = new RedisConnections(server.url, (error) => errors.push(error));
    client = connections.create('bee-queue-redis-test', 1);
    await whenReady(client);
  });
  afterEach(async () => {
    await Promise.all(queues.splice(0).map((queue) => queue.close()));
    expect(errors).toEqual([]);
  });
  afterAll(async () => {
    await connections.close();
    await server.stop();
  });

  it('is a client to bee-queue, and so are its duplicates', () => {
    expect(client.constructor.name).toBe('Redis');
    expect(beeQueueRedis.isClient(client)).toBe(true);
    const duplicate = client.duplicate();
    try {
      expect(duplicate).toBeInstanceOf(BeeQueueRedis);
      expect(beeQueueRedis.isClient(duplicate)).toBe(true);
      expect(duplicate.options.port).toBe(server.port);
      expect(duplicate.options.maxRetriesPerRequest).toBeNull(); // blocking commands wait out outages
    } finally {
      duplicate.disconnect();
    }
  });

  it('makes a bee-queue Queue write its keys to the server it was given, not to 6379', async () => {
    const queue = openQueue('given-server');
    await queue.ready();
    await queue.createJob({ n: 1 }).setId('job-1').save();

    expect(await listKeys(server.url, prefix)).toEqual([`${prefix}:given-server:jobs`, `${prefix}:given-server:waiting`]);
    expect(await listKeys(TEST_REDIS_URL, prefix)).toEqual([]);
  });

  it('saves through saveAll (node-redis batch): custom ids dedupe and delayUntil holds a job back', async () => {
    const queue = openQueue('save-all', { isWorker: false });
    await queue.ready();
    const jobs = [
      queue.createJob({ n: 1 }).setId('same'),
      queue.createJob({ n: 2 }).setId('same'),
      queue.createJob({ n: 3 }).setId('later').delayUntil(Date.now() + 60_000),
    ];
    const failures = await queue.saveAll(jobs);

    expect(failures.size).toBe(0);
    expect(jobs.map((job) => job.id)).toEqual(['same', null, 'later']); // a second save of an id returns no job
    expect(await queue.checkHealth()).toMatchObject({ waiting: 1, delayed: 1, active: 0 });
  });

  it('hands node-redis replies to multi().exec callbacks, errors in place', async () => {
    const key = `${prefix}:multi`;
    const replies = await new Promise<unknown[]>((resolve, reject) => {
      // Untyped as bee-queue calls it: `exec(callback)` with node-redis' reply shape.
      const multi = client.multi().set(key, 'v').get(key).lpush(key, 'not-a-list') as unknown as {
        exec(callback: (error: Error | null, replies: unknown[]) => void): void;
      };
      multi.exec((error, result) => (error ? reject(error) : resolve(result)));
    });
    expect(replies.slice(0, 2)).toEqual(['OK', 'v']);
    expect(replies[2]).toBeInstanceOf(Error);
  });

  it('processes jobs, delayed ones once due, on a worker queue with blocking and subscriber duplicates', async () => {
    const producer = openQueue('work', { isWorker: false });
    const worker = openQueue('work', { activateDelayedJobs: true, delayedDebounce: 10, removeOnSuccess: true });
    await Promise.all([producer.ready(), worker.ready()]);
    const processed: { id: string; atMs: number }[] = [];
    worker.process(2, async (job) => {
      processed.push({ id: job.id, atMs: Date.now() });
    });
    const dueAtMs = Date.now() + 300;
    await producer.saveAll([producer.createJob({}).setId('now'), producer.createJob({}).setId('soon').delayUntil(dueAtMs)]);

    await waitUntil(() => processed.length === 2, 5_000);
    expect(processed.map(({ id }) => id)).toEqual(['now', 'soon']);
    expect(processed[1]?.atMs).toBeGreaterThanOrEqual(dueAtMs);
    await waitUntil(async () => (await worker.checkHealth()).active === 0, 5_000);
    expect(await worker.checkHealth()).toMatchObject({ waiting: 0, active: 0, delayed: 0 });
  });

  it('counts a job its blocking duplicate took from `waiting` until the consumer says it received it', async () => {
    const producer = openQueue('taken', { isWorker: false });
    const worker = openQueue('taken', { removeOnSuccess: true });
    await Promise.all([producer.ready(), worker.ready()]);
    const blocking = (worker as unknown as { bclient: BeeQueueRedis }).bclient;
    expect(blocking).toBeInstanceOf(BeeQueueRedis);
    const seen: number[] = [];
    worker.process(1, async (job) => {
      // Taken from Redis and not received yet: neither in `waiting` nor at the consumer.
      seen.push(blocking.taken.onTheirWay(60_000));
      blocking.taken.received(job.id);
      seen.push(blocking.taken.onTheirWay(60_000));
    });
    await producer.createJob({}).setId('one').save();
    await waitUntil(() => seen.length === 2, 5_000);
    expect(seen).toEqual([1, 0]);
    expect(client.taken.onTheirWay(60_000)).toBe(0); // the shared client takes nothing
  });

  it("runs bee-queue's scripts again after the server lost them (NOSCRIPT)", async () => {
    const queue = openQueue('noscript', { isWorker: false });
    await queue.ready();
    await withRedis(server.url, (redis) => redis.script('FLUSH'));
    await queue.createJob({}).setId('after-flush').save();
    await queue.saveAll([queue.createJob({}).setId('batched-after-flush')]);
    expect(await queue.checkHealth()).toMatchObject({ waiting: 2 });
  });
});

async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('TakenJobs', () => {
  it('stops counting a job that never arrives once it was taken longer ago than asked', async () => {
    const taken = new TakenJobs();
    taken.add('lost');
    taken.add('coming');
    expect(taken.onTheirWay(60_000)).toBe(2);
    taken.received('coming');
    taken.received(undefined);
    await new Promise((resolve) => setTimeout(resolve, 15));
    expect(taken.onTheirWay(60_000)).toBe(1);
    expect(taken.onTheirWay(5)).toBe(0);
    expect(taken.onTheirWay(60_000)).toBe(0); // forgotten, not only left out
  });
});
