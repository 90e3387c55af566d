/**
 * A simple end-to-end throughput check of each queue adapter, with full state in PostgreSQL
 * (tasks, attempts, events): `npm run throughput [-- --rounds 3 --tasks 2000]`.
 *
 * For each adapter it starts one process's worth of jobql (API + worker, through the library
 * API, no HTTP) in a fresh schema, and measures
 * - bulk: one job of N `demo.echo` tasks, from submitJob to the job SUCCEEDED (tasks/s);
 * - sequential: N/4 single-task jobs submitted one after another (submits/s), then until all
 *   are SUCCEEDED (jobs/s end to end).
 * Figures are medians over the rounds, with min–max.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { configSchema } from '../src/config.js';
import { startJobQl, type JobQl } from '../src/runtime.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    tasks: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '10' },
    adapters: { type: 'string', default: 'memory,postgres,redis' },
    'database-url': { type: 'string', default: process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test' },
    'redis-url': { type: 'string', default: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379' },
  },
});
const rounds = Number(values.rounds);
const taskCount = Number(values.tasks);
const adapters = values.adapters.split(',');

interface Figures {
  bulkTasksPerSecond: number;
  submitsPerSecond: number;
  sequentialJobsPerSecond: number;
}

async function waitUntilDone(app: JobQl, jobIds: readonly string[]): Promise<void> {
  for (;;) {
    const jobs = await app.service.jobsByIds(jobIds);
    if (jobs.every((job) => job.status === 'SUCCEEDED')) return;
    if (jobs.some((job) => job.status === 'FAILED' || job.status === 'PARTIALLY_SUCCEEDED')) throw new Error('a job failed');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function measure(adapter: string, round: number): Promise<Figures> {
  const schema = `bench_${adapter}_${process.pid}_${round}`;
  const config = configSchema.parse({
    DATABASE_URL: values['database-url'],
    DATABASE_SCHEMA: schema,
    QUEUE_ADAPTER: adapter,
    REDIS_URL: values['redis-url'],
    PORT: '0',
    HOST: '127.0.0.1',
    WORKER_CONCURRENCY: values.concurrency,
    LOG_LEVEL: 'warn',
  });
  const app = await startJobQl({ config });
  try {
    const bulkStart = performance.now();
    const bulk = await app.service.submitJob({
      name: 'bulk',
      tasks: Array.from({ length: taskCount }, (_, i) => ({ type: 'demo.echo', payload: { i } })),
    });
    await waitUntilDone(app, [bulk.id]);
    const bulkSeconds = (performance.now() - bulkStart) / 1_000;

    const sequential = Math.floor(taskCount / 4);
    const ids: string[] = [];
    const submitStart = performance.now();
    for (let i = 0; i < sequential; i++) {
      ids.push((await app.service.submitJob({ name: 'one', tasks: [{ type: 'demo.echo', payload: { i } }] })).id);
    }
    const submitSeconds = (performance.now() - submitStart) / 1_000;
    await waitUntilDone(app, ids);
    const sequentialSeconds = (performance.now() - submitStart) / 1_000;
    return {
      bulkTasksPerSecond: taskCount / bulkSeconds,
      submitsPerSecond: sequential / submitSeconds,
      sequentialJobsPerSecond: sequential / sequentialSeconds,
    };
  } finally {
    await app.stop();
    const client = new pg.Client({ connectionString: values['database-url'] });
    await client.connect();
    await client.query(`drop schema if exists "${schema}" cascade`);
    await client.end();
  }
}

function summary(samples: readonly number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  return `${fmt(median)} (${fmt(sorted[0] ?? Number.NaN)}–${fmt(sorted.at(-1) ?? Number.NaN)})`;
}

const results = new Map<string, Figures[]>(adapters.map((adapter) => [adapter, []]));
// Interleaved: each round runs every adapter once, so drift on the machine hits all alike.
for (let round = 0; round < rounds; round++) {
  for (const adapter of adapters) {
    results.get(adapter)?.push(await measure(adapter, round));
    process.stderr.write(`round ${round + 1}/${rounds} ${adapter} done\n`);
  }
}

console.log(`\n${taskCount} tasks per bulk job, ${Math.floor(taskCount / 4)} sequential jobs, concurrency ${values.concurrency}, ${rounds} rounds: median (min–max)\n`);
console.log('| adapter | bulk job, tasks/s | sequential submitJob, jobs/s | sequential, end to end, jobs/s |');
console.log('| --- | --- | --- | --- |');
for (const [adapter, figures] of results) {
  console.log(
    `| ${adapter} | ${summary(figures.map((f) => f.bulkTasksPerSecond))} | ${summary(figures.map((f) => f.submitsPerSecond))} | ${summary(figures.map((f) => f.sequentialJobsPerSecond))} |`,
  );
}
