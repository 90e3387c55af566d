import { z } from 'zod';

/** Everything the process reads from its environment, checked once at start. */

const int = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);
const list = z
  .string()
  .transform((value) => value.split(',').map((item) => item.trim()).filter((item) => item.length > 0));

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
  QUEUE_ADAPTER: z.enum(['memory']).default('memory'),
  WORKER_CONCURRENCY: int(10, 1),
  /** The queues this process's worker serves; by default `default` and every task type's queue. */
  WORKER_QUEUES: list.optional(),
  LEASE_MS: int(30_000, 1_000),
  HEARTBEAT_MS: int(0),
  REAPER_INTERVAL_MS: int(5_000, 100),
  MAX_TASKS_PER_JOB: int(10_000, 1),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = z.output<typeof configSchema>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "not set", as shells and compose files often leave them.
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = configSchema.safeParse(set);
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
