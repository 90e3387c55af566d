import { z } from 'zod';
import { queueNameSchema } from './service/queue-name.js';
import type { WorkerQueue } from './worker/worker-queues.js';

/** Everything the process reads from its environment, checked once at start. */

const int = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);
const list = z
  .string()
  .transform((value) => value.split(',').map((item) => item.trim()).filter((item) => item.length > 0));

const workerQueue = z.string().transform((entry, ctx): WorkerQueue => {
  const [name = '', slots, ...rest] = entry.split('=').map((part) => part.trim());
  const parsedName = queueNameSchema.safeParse(name);
  if (!parsedName.success) {
    ctx.addIssue({ code: 'custom', message: `queue "${name}" ${parsedName.error.issues[0]?.message ?? 'is not a valid name'}` });
    return z.NEVER;
  }
  if (slots === undefined) return { name };
  const concurrency = Number(slots);
  if (rest.length > 0 || !/^\d+$/.test(slots) || concurrency < 1) {
    ctx.addIssue({ code: 'custom', message: `"${entry}": write a queue as name or name=slots, slots a whole number from 1` });
    return z.NEVER;
  }
  return { name, concurrency };
});

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
  WORKER_QUEUES: list
    .pipe(z.array(workerQueue))
    .refine((queues) => new Set(queues.map((q) => q.name)).size === queues.length, 'names a queue twice')
    .optional(),
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
