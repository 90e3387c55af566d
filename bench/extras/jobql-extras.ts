import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { loadConfig, type ProcessRole } from '../../src/config.js';
import { startJobQl, type JobQl } from '../../src/runtime/start-jobql.js';
import type { SubmitJobInput } from '../../src/service/submit-input.js';
import { defineTask, type AnyTaskDefinition } from '../../src/tasks/define-task.js';
import { buildJobQl, type BuiltJobQl } from '../lib/built-jobql.js';
import type { BenchEnvironment } from '../lib/environment.js';
import type { ExtraRow } from '../lib/report.js';
import { benchNoop } from '../lib/noop-task.js';
import { latencyPercentiles } from '../lib/stats.js';
import { now } from '../lib/workloads.js';
import { deleteRedisKeys, dropSchema } from '../systems/cleanup.js';
import { openCompletionCounter } from '../systems/completion-counter.js';
import { graphqlSubmit } from '../systems/graphql-submit.js';

export interface ExtraSizes {
  readonly bigJobTasks: number;
  readonly subscribers: number;
  readonly fanOutEvents: number;
  readonly rssJobs: number;
}

const PROJECT_ROOT = new URL('../../', import.meta.url);
let sessions = 0;

async function withApp<T>(
  env: BenchEnvironment,
  options: { adapter: string; role: ProcessRole; tasks?: AnyTaskDefinition[]; concurrency?: number; queues?: string },
  work: (app: JobQl, schema: string) => Promise<T>,
): Promise<T> {
  sessions += 1;
  const schema = `bench_extra_${options.adapter}_${process.pid}_${sessions}`;
  const config = loadConfig({
    DATABASE_URL: env.databaseUrl,
    DATABASE_SCHEMA: schema,
    QUEUE_ADAPTER: options.adapter,
    REDIS_URL: env.redisUrl,
    PORT: '0',
    HOST: '127.0.0.1',
    WORKER_CONCURRENCY: String(options.concurrency ?? 10),
    WORKER_QUEUES: options.queues ?? 'default',
    MAX_TASKS_PER_JOB: '10000',
    LOG_LEVEL: 'warn',
  });
  const app = await startJobQl({ config, role: options.role, tasks: options.tasks ?? [] });
  try {
    return await work(app, schema);
  } finally {
    await app.stop();
    await dropSchema(env, schema);
    if (options.adapter === 'redis') await deleteRedisKeys(env, `jobql:${schema}:*`);
  }
}

/** Seconds for one submitJob of `tasks` tasks to be accepted (committed and enqueued). */
async function bigJobSeconds(env: BenchEnvironment, adapter: string, surface: 'library' | 'graphql', tasks: number): Promise<number> {
  // No worker serves `default` here (memory runs one, on a queue nothing is sent to): only the submit is timed.
  return withApp(env, { adapter, role: adapter === 'memory' ? 'all' : 'api', queues: 'elsewhere' }, async (app) => {
    const input = { name: 'big', tasks: Array.from({ length: tasks }, (_, i) => ({ type: 'demo.echo', payload: { i } })) };
    const submit = surface === 'graphql' ? graphqlSubmit(app.url) : (i: SubmitJobInput) => app.service.submitJob({ tenant: 'default' }, i);
    await submit({ name: 'warm-up', tasks: [{ type: 'demo.echo', payload: 0 }] });
    const started = now();
    await submit(input);
    return (now() - started) / 1_000;
  });
}

/**
 * Runs a child process of the bench: from source with tsx, or with plain node from `built` (the
 * output of buildJobQl); resolves with it and a reader of its JSON lines.
 */
function child(script: string, args: string[], env: NodeJS.ProcessEnv, built?: BuiltJobQl) {
  const entry = built ? [built.entry(script)] : ['--import', 'tsx', new URL(script, PROJECT_ROOT).pathname];
  const process_ = spawn(process.execPath, [...entry, ...args], {
    cwd: PROJECT_ROOT.pathname,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: process_.stdout });
  const next = <T>(test: (line: Record<string, unknown>) => boolean, timeoutMs: number): Promise<T> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${script}: no awaited line within ${timeoutMs} ms`)), timeoutMs);
      const onLine = (line: string): void => {
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          if (!test(parsed)) return;
          clearTimeout(timer);
          lines.off('line', onLine);
          resolve(parsed as T);
        } catch {
          // a line that is not JSON: a log line
        }
      };
      lines.on('line', onLine);
      // On `close`, not `exit`: every line it printed has been read by then.
      lines.once('close', () => reject(new Error(`${script} ended (exit code ${process_.exitCode})`)));
    });
  return { process: process_, next };
}

/**
 * Progress event → subscriber latency, ms: one task reports `events` progress (every 50 ms, its
 * message the instant of the call) while `subscribers` graphql-ws clients in a child process
 * watch its job through the API of the process that runs it.
 */
async function fanOutLatencies(env: BenchEnvironment, adapter: string, subscribers: number, events: number): Promise<number[]> {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const reporter = defineTask({
    name: 'bench.progress',
    payload: z.object({ events: z.number() }),
    async handler({ payload, progress }) {
      await gate;
      for (let i = 1; i <= payload.events; i++) {
        await progress(i, payload.events, String(now()));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  });
  return withApp(env, { adapter, role: 'all', tasks: [reporter] }, async (app) => {
    const job = await graphqlSubmit(app.url)({ name: 'fan-out', tasks: [{ type: 'bench.progress', payload: { events } }] });
    const clients = child('bench/extras/subscribers.ts', [JSON.stringify({ url: app.url, jobId: job.id, clients: subscribers, events })], {});
    try {
      await clients.next((line) => line['ready'] === true, 120_000);
      release();
      const { latencies } = await clients.next<{ latencies: number[] }>((line) => Array.isArray(line['latencies']), 120_000 + events * 1_000);
      return latencies;
    } finally {
      release();
      clients.process.kill('SIGKILL');
    }
  });
}

/**
 * Peak RSS (MB) of a worker process running `jobs` no-op tasks at concurrency 50: the built
 * JavaScript run by node, as a deployment runs it (tsx would add its compiler to every thread).
 */
async function workerPeakRssMb(env: BenchEnvironment, adapter: string, jobs: number, built: BuiltJobQl): Promise<number> {
  return withApp(env, { adapter, role: 'api', tasks: [benchNoop] }, async (app, schema) => {
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < jobs) {
        const seq = next++;
        await app.service.submitJob({ tenant: 'default' }, { name: 'rss', tasks: [{ type: 'bench.noop', payload: { seq, sentAt: 0 } }] });
      }
    };
    await Promise.all(Array.from({ length: 16 }, lane));
    const worker = child('bench/extras/worker-process.ts', [], {
      DATABASE_URL: env.databaseUrl,
      DATABASE_SCHEMA: schema,
      QUEUE_ADAPTER: adapter,
      REDIS_URL: env.redisUrl,
      WORKER_CONCURRENCY: '50',
      WORKER_QUEUES: 'default',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    }, built);
    const counter = openCompletionCounter(env, schema);
    try {
      await worker.next((line) => typeof line['url'] === 'string', 60_000);
      const deadline = Date.now() + Math.max(120_000, jobs * 20);
      for (;;) {
        if ((await counter.count()) >= jobs) break;
        if (Date.now() > deadline) throw new Error('the worker did not finish');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const status = await readFile(`/proc/${worker.process.pid}/status`, 'utf8');
      return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
    } finally {
      worker.process.kill('SIGKILL');
      await counter.close();
    }
  });
}

export async function runExtras(env: BenchEnvironment, sizes: ExtraSizes, rounds: number): Promise<ExtraRow[]> {
  const adapters = ['memory', 'postgres', 'redis'];
  const bigLibrary = new Map<string, number[]>();
  const bigGraphql = new Map<string, number[]>();
  const fanOutP50 = new Map<string, number[]>();
  const fanOutP99 = new Map<string, number[]>();
  const rss = new Map<string, number[]>();
  const push = (map: Map<string, number[]>, key: string, value: number): void => {
    map.set(key, [...(map.get(key) ?? []), value]);
  };
  const step = async (what: string, work: () => Promise<void>): Promise<void> => {
    const began = Date.now();
    try {
      await work();
      process.stderr.write(`extras · ${what}: ${((Date.now() - began) / 1_000).toFixed(1)} s\n`);
    } catch (error) {
      process.stderr.write(`extras · ${what}: FAILED ${String(error)}\n`);
    }
  };
  // Built once for the run: the worker-RSS step measures the JavaScript a deployment runs.
  const built = await buildJobQl('bench/tsconfig.worker-process.json');
  try {
    for (let round = 0; round < rounds; round++) {
      for (const adapter of adapters) {
        await step(`${adapter} ${sizes.bigJobTasks}-task job`, async () => {
          push(bigLibrary, adapter, await bigJobSeconds(env, adapter, 'library', sizes.bigJobTasks));
          push(bigGraphql, adapter, await bigJobSeconds(env, adapter, 'graphql', sizes.bigJobTasks));
        });
        await step(`${adapter} fan-out to ${sizes.subscribers}`, async () => {
          const p = latencyPercentiles(await fanOutLatencies(env, adapter, sizes.subscribers, sizes.fanOutEvents));
          push(fanOutP50, adapter, p.p50);
          push(fanOutP99, adapter, p.p99);
        });
        if (adapter === 'memory') continue;
        await step(`${adapter} worker RSS`, async () => push(rss, adapter, await workerPeakRssMb(env, adapter, sizes.rssJobs, built)));
      }
    }
  } finally {
    await built.remove();
  }
  const variants = (map: Map<string, number[]>): ReadonlyMap<string, readonly number[]> => new Map([...map].map(([key, values]) => [`jobql ${key}`, values]));
  return [
    { measure: `one submitJob of ${sizes.bigJobTasks.toLocaleString('en-US')} tasks, library`, unit: 's', values: variants(bigLibrary), target: '≤ 0.5 s', digits: 3 },
    { measure: `one submitJob of ${sizes.bigJobTasks.toLocaleString('en-US')} tasks, GraphQL over HTTP`, unit: 's', values: variants(bigGraphql), target: '≤ 0.5 s', digits: 3 },
    { measure: `progress event → ${sizes.subscribers.toLocaleString('en-US')} graphql-ws subscribers, p50`, unit: 'ms', values: variants(fanOutP50), target: '', digits: 1 },
    { measure: `progress event → ${sizes.subscribers.toLocaleString('en-US')} graphql-ws subscribers, p99`, unit: 'ms', values: variants(fanOutP99), target: '≤ 50 ms', digits: 1 },
    { measure: 'worker process peak RSS at concurrency 50 (the build, run by node)', unit: 'MB', values: variants(rss), target: '≤ 150 MB', digits: 0 },
  ];
}
