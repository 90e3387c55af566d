import { z } from 'zod';
import { loadConfig, type ProcessRole } from '../../src/config.js';
import { startJobQl, type JobQl } from '../../src/runtime/start-jobql.js';
import { defineTask, type AnyTaskDefinition } from '../../src/tasks/define-task.js';
import type { BenchEnvironment } from '../lib/environment.js';
import type { BenchJob, OnStart, QueueSystem, Session } from '../lib/queue-system.js';
import { deleteRedisKeys, dropSchema } from './cleanup.js';
import { openCompletionCounter } from './completion-counter.js';
import { graphqlSubmit } from './graphql-submit.js';
import { AccessService } from '../../src/access/index.js';
import { createDatabase } from '../../src/store/database.js';

export type Adapter = 'memory' | 'postgres' | 'redis';
/**
 * Through the library API (`service.submitJob`), or GraphQL over HTTP (`POST /graphql`): open (no
 * credential, `AUTH_MODE=open`) or keyed (`AUTH_MODE=required`, an API key on every request).
 */
export type Surface = 'library' | 'graphql' | 'graphql-keyed';

const SURFACE_SUFFIX: Record<Surface, string> = { library: '', graphql: ' (GraphQL)', 'graphql-keyed': ' (GraphQL, keyed)' };

/** The largest job the bulk workload submits: one submitJob of this many tasks. */
const BULK_CHUNK = 1_000;
const PREFILL_LANES = 16;

let sessions = 0;

/**
 * jobql end to end, with full state in PostgreSQL (jobs, tasks, attempts, events), one adapter:
 * the API and the worker are two `startJobQl` instances in this process (the memory adapter
 * cannot cross instances: there one instance runs both, its handler held at a gate until the
 * workers "start").
 */
export function jobqlSystem(adapter: Adapter, surface: Surface, env: BenchEnvironment): QueueSystem {
  return {
    name: `jobql ${adapter}${SURFACE_SUFFIX[surface]}`,
    ours: true,
    open: ({ concurrency }) => openSession(adapter, surface, env, concurrency),
  };
}

/** A key with `submit` for the session's tenant, made as `npm run keys -- create` makes one. */
async function benchKey(env: BenchEnvironment, schema: string): Promise<string> {
  const db = createDatabase({ connectionString: env.databaseUrl, schema, maxConnections: 1 });
  try {
    const access = new AccessService({ db, mode: 'required', keyCacheMs: 2_000, jobTokenDefaultSeconds: 900, jobTokenMaxSeconds: 86_400 });
    return (await access.createKey({ tenant: 'bench', scopes: ['submit'] })).secret;
  } finally {
    await db.destroy();
  }
}

class Gate {
  #open: () => void = () => {};
  readonly opened = new Promise<void>((resolve) => (this.#open = resolve));
  open(): void {
    this.#open();
  }
}

function benchTask(gate: Gate, onStart: { current: OnStart }): AnyTaskDefinition {
  return defineTask({
    name: 'bench.noop',
    payload: z.object({ seq: z.number(), sentAt: z.number() }),
    async handler({ payload }) {
      await gate.opened;
      onStart.current(payload);
    },
  });
}

async function start(
  env: BenchEnvironment,
  schema: string,
  adapter: Adapter,
  role: ProcessRole,
  tasks: AnyTaskDefinition[],
  concurrency = 10,
  authMode: 'open' | 'required' = 'open',
): Promise<JobQl> {
  const config = loadConfig({
    AUTH_MODE: authMode,
    DATABASE_URL: env.databaseUrl,
    DATABASE_SCHEMA: schema,
    QUEUE_ADAPTER: adapter,
    REDIS_URL: env.redisUrl,
    PORT: '0',
    HOST: '127.0.0.1',
    WORKER_CONCURRENCY: String(concurrency),
    WORKER_QUEUES: 'default',
    LOG_LEVEL: 'warn',
  });
  return startJobQl({ config, role, tasks });
}

async function openSession(adapter: Adapter, surface: Surface, env: BenchEnvironment, concurrency: number): Promise<Session> {
  sessions += 1;
  const schema = `bench_jobql_${adapter}_${process.pid}_${sessions}`;
  const gate = new Gate();
  const onStart = { current: ((): void => {}) as OnStart };
  const task = benchTask(gate, onStart);
  // The memory adapter delivers inside one instance: it runs the worker from the start, gated.
  const api = await start(env, schema, adapter, adapter === 'memory' ? 'all' : 'api', [task], concurrency, surface === 'graphql-keyed' ? 'required' : 'open');
  let worker: JobQl | undefined;
  const counter = openCompletionCounter(env, schema);
  const submit =
    surface === 'library'
      ? (input: Parameters<JobQl['service']['submitJob']>[1]) => api.service.submitJob({ tenant: 'default' }, input)
      : graphqlSubmit(api.url, surface === 'graphql-keyed' ? await benchKey(env, schema) : undefined);
  const one = (job: BenchJob) => ({ type: 'bench.noop', payload: { seq: job.seq, sentAt: job.sentAt } });

  return {
    async enqueueOne(job) {
      await submit({ name: 'bench', tasks: [one(job)] });
    },
    async enqueueBulk(jobs) {
      for (let i = 0; i < jobs.length; i += BULK_CHUNK) await submit({ name: 'bench', tasks: jobs.slice(i, i + BULK_CHUNK).map(one) });
    },
    async prefill(jobs) {
      // Independent single-task jobs, as the peers' jobs are: many submissions in flight at once.
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < jobs.length) await api.service.submitJob({ tenant: 'default' }, { name: 'bench', tasks: [one(jobs[next++]!)] });
      };
      await Promise.all(Array.from({ length: PREFILL_LANES }, lane));
    },
    async startWorkers(slots, handler) {
      if (slots !== concurrency) throw new Error(`this session was opened for ${concurrency} slots, not ${slots}`);
      onStart.current = handler;
      if (adapter !== 'memory') worker = await start(env, schema, adapter, 'worker', [task], concurrency);
      gate.open();
    },
    completed: () => counter.count(),
    async close() {
      gate.open();
      await worker?.stop();
      await api.stop();
      await counter.close();
      await dropSchema(env, schema);
      if (adapter === 'redis') await deleteRedisKeys(env, `jobql:${schema}:*`);
    },
  };
}
