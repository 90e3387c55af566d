/**
 * `npm run bench [-- --quick] [-- --rounds 3 --jobs 20000 --only jobql,BullMQ --skip-extras]`:
 * jobql beside bee-queue, BullMQ, Graphile Worker and pg-boss on this machine, the same workloads
 * for all, interleaved round by round, printed as medians (min–max) with the ratio jobql / peer,
 * and written to bench/RESULTS.md.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { BenchEnvironment } from './lib/environment.js';
import { describeMachine } from './lib/machine.js';
import type { QueueSystem } from './lib/queue-system.js';
import { renderReport, type Row } from './lib/report.js';
import { latencyPercentiles } from './lib/stats.js';
import { enqueueInBulk, enqueueOneByOne, pickupLatency, processAt } from './lib/workloads.js';
import { runExtras, type ExtraSizes } from './extras/jobql-extras.js';
import { beeQueueSystem } from './systems/bee-queue.js';
import { bullmqSystem } from './systems/bullmq.js';
import { graphileWorkerSystem } from './systems/graphile-worker.js';
import { jobqlSystem } from './systems/jobql.js';
import { pgBossSystem } from './systems/pg-boss.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    jobs: { type: 'string' },
    only: { type: 'string' },
    'skip-extras': { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/RESULTS.md' },
    'database-url': { type: 'string', default: process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test' },
    'redis-url': { type: 'string', default: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379' },
  },
});

const quick = values.quick;
const rounds = Number(values.rounds ?? (quick ? 1 : 3));
const jobs = Number(values.jobs ?? (quick ? 500 : 20_000));
const sizes = {
  sequential: Math.max(100, Math.floor(jobs / (quick ? 4 : 10))),
  bulk: jobs,
  // Concurrency 1 is the slowest row by far: a quarter of the jobs keeps its round short.
  processOne: Math.max(200, Math.floor(jobs / 4)),
  process: jobs,
  latencySamples: quick ? 15 : 200,
};
const extraSizes: ExtraSizes = { bigJobTasks: 10_000, subscribers: 1_000, fanOutEvents: quick ? 10 : 100, rssJobs: quick ? 1_000 : 10_000 };
const env: BenchEnvironment = { databaseUrl: values['database-url'], redisUrl: values['redis-url'] };

const ours = [jobqlSystem('memory', 'library', env), jobqlSystem('postgres', 'library', env), jobqlSystem('redis', 'library', env)];
const oursOverHttp = [jobqlSystem('postgres', 'graphql', env), jobqlSystem('postgres', 'graphql-keyed', env), jobqlSystem('redis', 'graphql', env)];
const peers = [beeQueueSystem(env), bullmqSystem(env), graphileWorkerSystem(env, 'plain'), graphileWorkerSystem(env, 'fast'), pgBossSystem(env)];
const selected = (systems: QueueSystem[]): QueueSystem[] => {
  if (!values.only) return systems;
  const names = values.only.split(',').map((name) => name.trim().toLowerCase());
  return systems.filter((system) => names.some((name) => system.name.toLowerCase().startsWith(name)));
};

interface Workload {
  readonly row: string;
  readonly unit: 'jobs/s' | 'ms';
  readonly systems: QueueSystem[];
  run(system: QueueSystem): Promise<number[]>;
}

const submitters = selected([...ours, ...oursOverHttp, ...peers]);
const processors = selected([...ours, ...peers]);
const workloads: Workload[] = [
  { row: 'enqueue one at a time', unit: 'jobs/s', systems: submitters, run: async (s) => [await enqueueOneByOne(s, sizes.sequential)] },
  { row: 'enqueue in bulk', unit: 'jobs/s', systems: submitters, run: async (s) => [await enqueueInBulk(s, sizes.bulk)] },
  { row: 'process, concurrency 1', unit: 'jobs/s', systems: processors, run: async (s) => [await processAt(s, 1, sizes.processOne)] },
  { row: 'process, concurrency 10', unit: 'jobs/s', systems: processors, run: async (s) => [await processAt(s, 10, sizes.process)] },
  { row: 'process, concurrency 50', unit: 'jobs/s', systems: processors, run: async (s) => [await processAt(s, 50, sizes.process)] },
  {
    row: 'enqueue → handler start, idle',
    unit: 'ms',
    systems: submitters,
    run: async (s) => {
      const p = latencyPercentiles(await pickupLatency(s, sizes.latencySamples));
      return [p.p50, p.p95, p.p99];
    },
  },
];

/** results[row][system] = one array per round (latency rows give p50, p95, p99). */
const results = new Map<string, Map<string, number[][]>>();
const record = (row: string, system: string, value: number[]): void => {
  const bySystem = results.get(row) ?? new Map<string, number[][]>();
  results.set(row, bySystem);
  bySystem.set(system, [...(bySystem.get(system) ?? []), value]);
};

const startedAt = Date.now();
for (let round = 0; round < rounds; round++) {
  for (const workload of workloads) {
    // Interleaved, and each round starts the order one further on, so drift hits every system alike.
    const order = workload.systems.map((_, i) => workload.systems[(i + round) % workload.systems.length]!);
    for (const system of order) {
      const began = Date.now();
      try {
        record(workload.row, system.name, await workload.run(system));
        process.stderr.write(`round ${round + 1}/${rounds} · ${workload.row} · ${system.name}: ${((Date.now() - began) / 1_000).toFixed(1)} s\n`);
      } catch (error) {
        process.stderr.write(`round ${round + 1}/${rounds} · ${workload.row} · ${system.name}: FAILED ${String(error)}\n`);
        record(workload.row, system.name, workload.unit === 'ms' ? [Number.NaN, Number.NaN, Number.NaN] : [Number.NaN]);
      }
    }
  }
}
const extras = values['skip-extras'] ? [] : await runExtras(env, extraSizes, rounds);

const rows: Row[] = workloads.map((workload) => ({
  row: workload.row,
  unit: workload.unit,
  bySystem: results.get(workload.row) ?? new Map(),
  ours: workload.systems.filter((system) => system.ours).map((system) => system.name),
  peers: workload.systems.filter((system) => !system.ours).map((system) => system.name),
}));
const report = renderReport({
  machine: await describeMachine(env),
  settings: { rounds, ...sizes, quick },
  rows,
  extras,
  seconds: (Date.now() - startedAt) / 1_000,
});
console.log(report);
await writeFile(values.out, report);
process.stderr.write(`written to ${values.out}\n`);
process.exit(0);
