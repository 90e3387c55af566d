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

const flag = z
  .enum(['true', 'false', '1', '0'])
  .transform((value) => value === 'true' || value === '1')
  .optional();

export const configSchema = z.object({
  NODE_ENV: z.string().optional(),
  PORT: int(4000),
  /** Where the API listens: 127.0.0.1 in `AUTH_MODE=open` unless set, all interfaces in `required`. */
  HOST: z.string().min(1).optional(),
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
  /** How often a worker process submits the schedules' due ticks. */
  SCHEDULER_INTERVAL_MS: int(1_000, 50),
  /** A schedule's tick older than this when a process gets to it was missed (nothing ran): its policy decides. */
  SCHEDULE_MISSED_AFTER_MS: int(30_000, 0),
  /** A jobProgress subscription that heard nothing for this long re-reads the store (bus loss guard). */
  SUBSCRIPTION_RESYNC_MS: int(5_000, 100),
  /**
   * When set, `/metrics` is served on this port (of METRICS_HOST) to anyone who reaches it, and not
   * on PORT; unset, it is on PORT for an admin key of tenant `default` (anyone in `open` mode).
   */
  METRICS_PORT: z.coerce.number().int().min(0).optional(),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** How long a starting process waits for a PostgreSQL that is down or still starting before it gives up. */
  STARTUP_WAIT_MS: int(300_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `auto`: readable lines in a terminal outside production, JSON lines otherwise. */
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  /**
   * `open`: no credential needed (one tenant, every scope; for a laptop), the default outside
   * production. `required`: every request proves who it is, the default with NODE_ENV=production.
   */
  AUTH_MODE: z.enum(['open', 'required']).optional(),
  /** Allows `AUTH_MODE=open` on an address other machines can reach, or with NODE_ENV=production. */
  AUTH_ALLOW_OPEN: flag,
  /** How long an API key lookup is remembered: a revoked key is refused within this long (and its open subscriptions end). */
  AUTH_KEY_CACHE_MS: int(2_000, 0).refine((ms) => ms <= 4_000, 'must be at most 4000, so that a revoked key is refused within 5 s'),
  /** Accept the JWTs of this identity provider's key set (RS256, ES256, EdDSA…). */
  AUTH_JWKS_URL: z.url().optional(),
  /** Or of this shared secret (HS256/384/512). */
  AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  AUTH_JWT_ISSUER: z.string().min(1).optional(),
  AUTH_JWT_AUDIENCE: z.string().min(1).optional(),
  AUTH_JWT_TENANT_CLAIM: z.string().min(1).default('tenant'),
  AUTH_JWT_SCOPES_CLAIM: z.string().min(1).default('scope'),
  /** A job token's life when createJobToken is not given one, and the longest it may ask for. */
  JOB_TOKEN_DEFAULT_SECONDS: int(15 * 60, 1),
  JOB_TOKEN_MAX_SECONDS: int(24 * 60 * 60, 1),
  /**
   * The browser origins (`https://app.example.com`, comma-separated) allowed to call the API from
   * their pages, over HTTP (CORS) and WebSocket; none by default, and in `open` mode any
   * http://localhost or http://127.0.0.1 page as well.
   */
  CORS_ORIGINS: list.pipe(z.array(z.string().refine((url) => URL.canParse(url) && new URL(url).origin === url, 'must be an origin: scheme, host and port only'))).default([]),
  /** The largest request body (and graphql-ws message) accepted; a larger one answers 413 (closes 1009). */
  MAX_BODY_BYTES: int(4 * 1024 * 1024, 1_024),
  MAX_SUBSCRIPTIONS_PER_CONNECTION: int(100, 1),
  /** Limits every operation must pass before it runs (graphql-armor): depth, aliases, tokens, directives, cost. */
  ARMOR_MAX_DEPTH: int(12, 1),
  ARMOR_MAX_ALIASES: int(15, 0),
  ARMOR_MAX_TOKENS: int(2_000, 10),
  ARMOR_MAX_DIRECTIVES: int(20, 0),
  ARMOR_MAX_COST: int(20_000, 10),
  /**
   * Per caller (an API key, a JWT's subject, a job token's job; by address in `open` mode or
   * without a valid credential) and API process: requests (an HTTP request, a WebSocket's
   * connection and each operation on it), and tasks submitted. 0: no limit.
   */
  RATE_LIMIT_REQUESTS_PER_MINUTE: int(12_000, 0),
  RATE_LIMIT_TASKS_PER_MINUTE: int(600_000, 0),
  /** The API's own pool, beside the worker's: requests never take the worker's connections. */
  API_POOL_SIZE: int(10, 1),
  /** How many of those one request (or one subscription event) may hold at once. */
  API_CONNECTIONS_PER_REQUEST: int(2, 1),
  /** Any statement of the API's pool that runs longer is cancelled, and its request answers STATEMENT_TIMEOUT. */
  API_STATEMENT_TIMEOUT_MS: int(5_000, 100),
  /**
   * A JSON file of `{ "<hash>": "<document>" }` (graphql-codegen's persisted documents): when set,
   * only those operations run, sent as `{"documentId": "<hash>"}` or `extensions.persistedQuery`.
   */
  PERSISTED_OPERATIONS: z.string().min(1).optional(),
  /** Schema introspection; on in `open` mode unless set, off in `required`. */
  GRAPHQL_INTROSPECTION: flag,
  /** GraphiQL at the endpoint; on in `open` mode unless set, off in `required`. */
  GRAPHIQL: flag,
});

type ParsedConfig = z.output<typeof configSchema>;

/** The configuration with the defaults that depend on others settled. */
export type Config = Omit<ParsedConfig, 'HOST' | 'AUTH_MODE' | 'AUTH_ALLOW_OPEN' | 'GRAPHQL_INTROSPECTION' | 'GRAPHIQL'> & {
  readonly HOST: string;
  readonly AUTH_MODE: 'open' | 'required';
  readonly AUTH_ALLOW_OPEN: boolean;
  readonly GRAPHQL_INTROSPECTION: boolean;
  readonly GRAPHIQL: boolean;
};

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Settles the defaults that depend on other settings, and refuses an open API others can reach. */
function settle(parsed: ParsedConfig): Config {
  const mode = parsed.AUTH_MODE ?? (parsed.NODE_ENV === 'production' ? 'required' : 'open');
  const open = mode === 'open';
  const config: Config = {
    ...parsed,
    AUTH_MODE: mode,
    HOST: parsed.HOST ?? (open ? '127.0.0.1' : '0.0.0.0'),
    AUTH_ALLOW_OPEN: parsed.AUTH_ALLOW_OPEN ?? false,
    GRAPHQL_INTROSPECTION: parsed.GRAPHQL_INTROSPECTION ?? open,
    GRAPHIQL: parsed.GRAPHIQL ?? open,
  };
  if (open && !config.AUTH_ALLOW_OPEN) {
    if (!LOOPBACK.has(config.HOST)) {
      throw new Error(
        `invalid configuration:\n  AUTH_MODE: open serves every job to anyone who can reach ${config.HOST}: use AUTH_MODE=required, HOST=127.0.0.1, or set AUTH_ALLOW_OPEN=true`,
      );
    }
    if (parsed.NODE_ENV === 'production') {
      throw new Error('invalid configuration:\n  AUTH_MODE: open with NODE_ENV=production: use AUTH_MODE=required, or set AUTH_ALLOW_OPEN=true');
    }
  }
  return config;
}

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
    .refine((config) => config.AUTH_JWKS_URL === undefined || config.AUTH_JWT_SECRET === undefined, {
      message: 'give AUTH_JWKS_URL or AUTH_JWT_SECRET, not both',
      path: ['AUTH_JWT_SECRET'],
    })
    .refine((config) => config.RATE_LIMIT_TASKS_PER_MINUTE === 0 || config.RATE_LIMIT_TASKS_PER_MINUTE >= config.MAX_TASKS_PER_JOB, {
      message: 'must be 0 (no limit) or at least MAX_TASKS_PER_JOB, so that the largest job can be submitted',
      path: ['RATE_LIMIT_TASKS_PER_MINUTE'],
    })
    .refine((config) => config.API_CONNECTIONS_PER_REQUEST <= config.API_POOL_SIZE, {
      message: 'must not exceed API_POOL_SIZE',
      path: ['API_CONNECTIONS_PER_REQUEST'],
    })
    .refine((config) => config.JOB_TOKEN_DEFAULT_SECONDS <= config.JOB_TOKEN_MAX_SECONDS, {
      message: 'must not exceed JOB_TOKEN_MAX_SECONDS',
      path: ['JOB_TOKEN_DEFAULT_SECONDS'],
    })
    .safeParse(set);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`).join('\n');
    throw new Error(`invalid configuration:\n${problems}`);
  }
  return settle(parsed.data);
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
