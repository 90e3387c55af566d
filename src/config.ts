import { z } from 'zod';
import { queueNameSchema } from './service/queue-name.js';
import type { WorkerQueue } from './worker/worker-queues.js';

/** Everything the process reads from its environment, checked once at start. */

const int = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);
const list = z
  .string()
  .transform((value) => value.split(',').map((item) => item.trim()).filter((item) => item.length > 0));

/**
 * A comma-separated list of `queue` or `queue=number` entries (WORKER_QUEUES, QUEUE_RETENTION_MS):
 * each name a valid queue name, named once, each number a whole number of at least `min`.
 */
function queueList(options: { readonly valueName: string; readonly min: number; readonly valueRequired: boolean }) {
  const form = options.valueRequired ? `name=${options.valueName}` : `name or name=${options.valueName}`;
  const entry = z.string().transform((text, ctx): { name: string; value?: number } => {
    const [name = '', value, ...rest] = text.split('=').map((part) => part.trim());
    const parsedName = queueNameSchema.safeParse(name);
    if (!parsedName.success) {
      ctx.addIssue({ code: 'custom', message: `queue "${name}" ${parsedName.error.issues[0]?.message ?? 'is not a valid name'}` });
      return z.NEVER;
    }
    if (value === undefined && !options.valueRequired) return { name };
    if (value === undefined || rest.length > 0 || !/^\d+$/.test(value) || Number(value) < options.min) {
      ctx.addIssue({ code: 'custom', message: `"${text}": write a queue as ${form}, ${options.valueName} a whole number from ${options.min}` });
      return z.NEVER;
    }
    return { name, value: Number(value) };
  });
  return list.pipe(z.array(entry)).refine((entries) => new Set(entries.map((e) => e.name)).size === entries.length, 'names a queue twice');
}

const workerQueues = queueList({ valueName: 'slots', min: 1, valueRequired: false }).transform((entries) =>
  entries.map(({ name, value }): WorkerQueue => (value === undefined ? { name } : { name, concurrency: value })),
);

const queueRetention = queueList({ valueName: 'ms', min: 0, valueRequired: true }).transform(
  (entries) => new Map(entries.map(({ name, value }) => [name, value ?? 0])),
);

export const configSchema = z.object({
  PORT: int(4000),
  HOST: z.string().default('0.0.0.0'),
  /** Where the embedded PostgreSQL keeps its data when no DATABASE_URL is given. */
  DATA_DIR: z.string().default('./.data'),
  EMBEDDED_PG_PORT: int(54329, 1),
  DATABASE_URL: z.string().min(1).optional(),
  /** A schema to use inside the database (first on the search path); tests give each run its own. */
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'must be a lower-case SQL identifier')
    .optional(),
  /** How deliveries reach workers; `memory` only works with the API and the worker in one process. */
  QUEUE_ADAPTER: z.enum(['memory', 'postgres', 'redis']).default('postgres'),
  REDIS_URL: z.string().min(1).optional(),
  WORKER_CONCURRENCY: int(10, 1),
  /**
   * The queues this process's worker serves (by default `default` and every task type's queue),
   * comma-separated; `name=n` gives a queue n slots of its own, the rest share WORKER_CONCURRENCY.
   */
  WORKER_QUEUES: workerQueues.optional(),
  LEASE_MS: int(30_000, 1_000),
  HEARTBEAT_MS: int(0),
  REAPER_INTERVAL_MS: int(5_000, 100),
  RECONCILE_INTERVAL_MS: int(30_000, 100),
  /** On SIGTERM, how long running tasks may take to finish before they go back to their queue. */
  SHUTDOWN_GRACE_MS: int(8_000),
  /**
   * How long a handler whose signal fired (timeout, cancel, lost lease, shutdown) may take to stop;
   * then its attempt ends anyway and its slot is free (an isolated handler's thread is terminated).
   */
  ABORT_GRACE_MS: int(2_000),
  /** The postgres adapter's idle poll; NOTIFY wakes workers sooner, the poll guarantees progress. */
  POLL_INTERVAL_MS: int(1_000, 10),
  MAX_TASKS_PER_JOB: int(10_000, 1),
  /** How long after its job finished an idempotency key still answers with that job; then it starts a new one. */
  IDEMPOTENCY_KEY_TTL_MS: int(24 * 60 * 60 * 1000),
  /** The largest result a handler may return, as JSON; a larger one fails its task with RESULT_TOO_LARGE. */
  RESULT_MAX_BYTES: int(1024 * 1024, 1),
  /** How long a finished job (its tasks, attempts and events) is kept before the maintenance loop removes it. */
  RETENTION_MS: int(7 * 24 * 60 * 60 * 1000),
  /** Per job queue, `queue=ms` entries that override RETENTION_MS. */
  QUEUE_RETENTION_MS: queueRetention.default(new Map()),
  /** How often each worker runs the maintenance loop (one at a time across workers). */
  MAINTENANCE_INTERVAL_MS: int(60_000, 100),
  /** A jobProgress subscription that heard nothing for this long re-reads the store (bus loss guard). */
  SUBSCRIPTION_RESYNC_MS: int(5_000, 100),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = z.output<typeof configSchema>;

/** Which parts a process runs: `npm start` both, `npm run server` the API, `npm run worker` a worker. */
export type ProcessRole = 'all' | 'api' | 'worker';

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "not set", as shells and compose files often leave them.
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = configSchema
    .refine((config) => config.QUEUE_ADAPTER !== 'redis' || config.REDIS_URL !== undefined, {
      message: 'REDIS_URL is required when QUEUE_ADAPTER is redis',
      path: ['REDIS_URL'],
    })
    .safeParse(set);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`).join('\n');
    throw new Error(`invalid configuration:\n${problems}`);
  }
  return parsed.data;
}

/** The heartbeat renews leases three times per lease unless set. */
export function heartbeatMs(config: Config): number {
  return config.HEARTBEAT_MS > 0 ? config.HEARTBEAT_MS : Math.floor(config.LEASE_MS / 3);
}

/** Settings that cannot work for a process of this role, as a message; undefined when fine. */
export function roleProblem(config: Config, role: ProcessRole): string | undefined {
  if (role === 'all') return undefined;
  if (config.QUEUE_ADAPTER === 'memory') {
    return `QUEUE_ADAPTER=memory keeps deliveries inside one process: use npm start, or postgres or redis for a separate ${role}`;
  }
  if (config.DATABASE_URL === undefined) {
    return `a separate ${role} process needs DATABASE_URL: the embedded PostgreSQL belongs to the process that starts it (npm start)`;
  }
  return undefined;
}
