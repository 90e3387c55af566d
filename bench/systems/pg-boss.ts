import PgBoss from 'pg-boss';
import type { BenchEnvironment } from '../lib/environment.js';
import { prefillingInBulk, type BenchJob, type QueueSystem, type Session } from '../lib/queue-system.js';
import { dropSchema } from './cleanup.js';

let sessions = 0;
const BULK_CHUNK = 1_000;

/**
 * pg-boss 10 (the last to run on Node 20). Concurrency n is n `work` loops of one job each, as its
 * documentation says for v10. Left alone, a loop waits out its polling interval after every fetch,
 * busy or not (2 jobs/s a loop at the 0.5 s minimum); here a loop that got a job calls the
 * documented `notifyWorker(id)` so it fetches again at once, and only an idle loop polls every
 * 0.5 s. Completion is read from its job table.
 */
export function pgBossSystem(env: BenchEnvironment): QueueSystem {
  return {
    name: 'pg-boss',
    ours: false,
    async open({ concurrency }): Promise<Session> {
      sessions += 1;
      const schema = `bench_pgboss_${process.pid}_${sessions}`;
      const boss = new PgBoss({ connectionString: env.databaseUrl, schema, max: Math.max(10, concurrency + 2), supervise: false, schedule: false });
      boss.on('error', () => {});
      await boss.start();
      await boss.createQueue('bench');
      return prefillingInBulk({
        async enqueueOne(job) {
          await boss.send('bench', job);
        },
        async enqueueBulk(jobs) {
          for (let i = 0; i < jobs.length; i += BULK_CHUNK) await boss.insert(jobs.slice(i, i + BULK_CHUNK).map((data) => ({ name: 'bench', data })));
        },
        async startWorkers(slots, onStart) {
          for (let i = 0; i < slots; i++) {
            let id: string | undefined;
            id = await boss.work<BenchJob>('bench', { batchSize: 1, pollingIntervalSeconds: 0.5 }, async ([job]) => {
              if (job) onStart(job.data);
              if (id) boss.notifyWorker(id);
            });
          }
        },
        async completed() {
          const { rows } = await boss.getDb().executeSql(`select count(*) as n from "${schema}".job where name = 'bench' and state = 'completed'`, []);
          return Number((rows[0] as { n?: string } | undefined)?.n ?? 0);
        },
        async close() {
          await boss.stop({ graceful: false, wait: true });
          await dropSchema(env, schema);
        },
      });
    },
  };
}
