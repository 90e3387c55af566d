import Queue from 'bee-queue';
import type { BenchEnvironment } from '../lib/environment.js';
import { prefillingInBulk, type BenchJob, type QueueSystem, type Session } from '../lib/queue-system.js';
import { deleteRedisKeys } from './cleanup.js';

let sessions = 0;

/**
 * bee-queue 2 in its lean settings: jobs removed on success, no job map, no events across
 * processes. Completion is its `succeeded` event, emitted once the job is finished in Redis.
 */
export function beeQueueSystem(env: BenchEnvironment): QueueSystem {
  return {
    name: 'bee-queue',
    ours: false,
    async open(): Promise<Session> {
      sessions += 1;
      const prefix = `bench-bq-${process.pid}-${sessions}`;
      const settings = { prefix, redis: { url: env.redisUrl }, getEvents: false, sendEvents: false, storeJobs: false, removeOnSuccess: true };
      const producer = new Queue<BenchJob>('bench', { ...settings, isWorker: false, activateDelayedJobs: false });
      await producer.ready();
      let worker: Queue<BenchJob> | undefined;
      let completed = 0;
      return prefillingInBulk({
        async enqueueOne(job) {
          await producer.createJob(job).save();
        },
        async enqueueBulk(jobs) {
          const errors = await producer.saveAll(jobs.map((job) => producer.createJob(job)));
          if (errors.size > 0) throw new Error(`bee-queue saveAll: ${errors.size} jobs failed`);
        },
        async startWorkers(concurrency, onStart) {
          worker = new Queue<BenchJob>('bench', { ...settings, isWorker: true });
          worker.on('succeeded', () => {
            completed += 1;
          });
          await worker.ready();
          worker.process(concurrency, async (job) => {
            onStart(job.data);
          });
        },
        async completed() {
          return completed;
        },
        async close() {
          await worker?.close();
          await producer.close();
          await deleteRedisKeys(env, `${prefix}:*`);
        },
      });
    },
  };
}
