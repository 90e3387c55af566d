import { Queue, Worker } from 'bullmq';
import type { BenchEnvironment } from '../lib/environment.js';
import { prefillingInBulk, type BenchJob, type QueueSystem, type Session } from '../lib/queue-system.js';
import { deleteRedisKeys } from './cleanup.js';

let sessions = 0;
const BULK_CHUNK = 1_000;

/** BullMQ on Redis, jobs removed on completion (its fastest documented setting); completion is the worker's `completed` event. */
export function bullmqSystem(env: BenchEnvironment): QueueSystem {
  const url = new URL(env.redisUrl);
  const connection = { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
  return {
    name: 'BullMQ',
    ours: false,
    async open(): Promise<Session> {
      sessions += 1;
      const prefix = `bench-bull-${process.pid}-${sessions}`;
      const queue = new Queue<BenchJob>('bench', { connection, prefix, defaultJobOptions: { removeOnComplete: true, removeOnFail: true } });
      await queue.waitUntilReady();
      let worker: Worker<BenchJob> | undefined;
      let completed = 0;
      return prefillingInBulk({
        async enqueueOne(job) {
          await queue.add('noop', job);
        },
        async enqueueBulk(jobs) {
          for (let i = 0; i < jobs.length; i += BULK_CHUNK) {
            await queue.addBulk(jobs.slice(i, i + BULK_CHUNK).map((data) => ({ name: 'noop', data })));
          }
        },
        async startWorkers(concurrency, onStart) {
          worker = new Worker<BenchJob>(
            'bench',
            async (job) => {
              onStart(job.data);
            },
            { connection, prefix, concurrency },
          );
          worker.on('completed', () => {
            completed += 1;
          });
          await worker.waitUntilReady();
        },
        async completed() {
          return completed;
        },
        async close() {
          await worker?.close();
          await queue.close();
          await deleteRedisKeys(env, `${prefix}:*`);
        },
      });
    },
  };
}
