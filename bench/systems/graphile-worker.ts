import { EventEmitter } from 'node:events';
import { Logger, makeWorkerUtils, run, type Runner, type WorkerEvents } from 'graphile-worker';
import pg from 'pg';
import type { BenchEnvironment } from '../lib/environment.js';
import { prefillingInBulk, type BenchJob, type QueueSystem, type Session } from '../lib/queue-system.js';
import { dropSchema } from './cleanup.js';

let sessions = 0;
const BULK_CHUNK = 1_000;
const silent = new Logger(() => () => {});

/**
 * Graphile Worker 0.17. `fast` is its fastest documented mode: a local queue of 500 jobs fetched
 * and locked at once, and completions batched (`completeJobBatchDelay: 0`). Completion is read
 * from its jobs table: a completed job is deleted there.
 */
export function graphileWorkerSystem(env: BenchEnvironment, mode: 'plain' | 'fast'): QueueSystem {
  return {
    name: mode === 'fast' ? 'Graphile Worker (fast)' : 'Graphile Worker',
    ours: false,
    async open(): Promise<Session> {
      sessions += 1;
      const schema = `bench_gw_${process.pid}_${sessions}`;
      const utils = await makeWorkerUtils({ connectionString: env.databaseUrl, schema, logger: silent });
      await utils.migrate();
      const counter = new pg.Client({ connectionString: env.databaseUrl });
      await counter.connect();
      let runner: Runner | undefined;
      let enqueued = 0;
      return prefillingInBulk({
        async enqueueOne(job) {
          await utils.addJob('noop', job);
          enqueued += 1;
        },
        async enqueueBulk(jobs) {
          for (let i = 0; i < jobs.length; i += BULK_CHUNK) {
            await utils.addJobs(jobs.slice(i, i + BULK_CHUNK).map((payload) => ({ identifier: 'noop', payload })));
          }
          enqueued += jobs.length;
        },
        async startWorkers(concurrency, onStart) {
          runner = await run({
            connectionString: env.databaseUrl,
            schema,
            concurrency,
            maxPoolSize: concurrency + 2,
            noHandleSignals: true,
            logger: silent,
            events: new EventEmitter() as WorkerEvents,
            taskList: {
              noop: async (payload) => {
                onStart(payload as BenchJob);
              },
            },
            ...(mode === 'fast'
              ? { preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } } }
              : {}),
          });
        },
        async completed() {
          const { rows } = await counter.query<{ n: string }>(`select count(*) as n from "${schema}"._private_jobs`);
          return enqueued - Number(rows[0]?.n ?? 0);
        },
        async close() {
          await runner?.stop();
          await utils.release();
          await counter.end();
          await dropSchema(env, schema);
        },
      });
    },
  };
}
