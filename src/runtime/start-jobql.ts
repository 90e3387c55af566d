import type { LogEvent } from 'kysely';
import pino, { type Logger } from 'pino';
import { heartbeatMs, roleProblem, type Config, type ProcessRole } from '../config.js';
import { createConfiguredAdapter } from './configured-adapter.js';
import { openConfiguredDatabase } from './configured-database.js';
import { createConfiguredEventBus } from './configured-event-bus.js';
import { accessSummary, createConfiguredAccess } from './configured-access.js';
import { buildHealthServer } from '../server/health-server.js';
import { JobService } from '../service/job-service.js';
import { demoTasks } from '../tasks/demo-tasks.js';
import type { AnyTaskDefinition } from '../tasks/define-task.js';
import { TaskRegistry } from '../tasks/task-registry.js';
import { Worker } from '../worker/worker.js';
import type { WorkerQueue } from '../worker/worker-queues.js';

/** How often open WebSockets' credentials are checked again (a revoked key ends them within AUTH_KEY_CACHE_MS and this). */
const CREDENTIAL_CHECK_MS = 1_000;

export interface JobQlOptions {
  readonly config: Config;
  /** `all` (default): API and worker; `api`: the GraphQL server only; `worker`: runs tasks only. */
  readonly role?: ProcessRole;
  /** Task types to register beside the demo ones. */
  readonly tasks?: readonly AnyTaskDefinition[];
  readonly logger?: Logger;
  /** Sees every SQL statement (the query-count tests count them). */
  readonly onQuery?: (event: LogEvent) => void;
}

export interface JobQl {
  /** The GraphQL endpoint (e.g. http://localhost:4000/graphql), or a worker's health URL. */
  readonly url: string;
  readonly service: JobService;
  /** Absent in an API-only process. */
  readonly worker: Worker | undefined;
  /** Stops taking work, lets running tasks finish within the grace period, then closes everything. */
  stop(): Promise<void>;
}

/**
 * A process of the given role: PostgreSQL (the given one, or an embedded one it starts), the
 * migrations, the queue adapter and event bus, then a worker and/or the GraphQL server.
 */
export async function startJobQl(options: JobQlOptions): Promise<JobQl> {
  const { config } = options;
  const role = options.role ?? 'all';
  const problem = roleProblem(config, role);
  if (problem !== undefined) throw new Error(`invalid configuration: ${problem}`);
  const logger = (options.logger ?? pino({ level: config.LOG_LEVEL })).child({ role });
  const stack: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    for (const step of stack.reverse()) await step().catch((error: unknown) => logger.error({ err: error }, 'stop step failed'));
    stack.length = 0;
  };
  try {
    const database = await openConfiguredDatabase(config, {
      log: (message) => logger.info(message),
      ...(options.onQuery ? { onQuery: options.onQuery } : {}),
    });
    stack.push(database.close);
    const { db } = database;

    const registry = new TaskRegistry([...demoTasks, ...(options.tasks ?? [])]);
    const adapter = await createConfiguredAdapter(config, database, logger);
    stack.push(() => adapter.close());
    const bus = await createConfiguredEventBus(config, database, logger);
    stack.push(() => bus.close());
    // The callers' statements run on a pool of their own, with a statement timeout; the worker,
    // the adapter and the bus keep the other one.
    const requestsDb = role === 'worker' ? db : database.openPool({ maxConnections: config.API_POOL_SIZE, statementTimeoutMs: config.API_STATEMENT_TIMEOUT_MS });
    const service = new JobService({
      db: requestsDb,
      adapter,
      bus,
      registry,
      maxTasksPerJob: config.MAX_TASKS_PER_JOB,
      idempotencyKeyTtlMs: config.IDEMPOTENCY_KEY_TTL_MS,
      watchResyncMs: config.SUBSCRIPTION_RESYNC_MS,
    });

    let worker: Worker | undefined;
    if (role !== 'api') {
      worker = new Worker({
        db,
        connectionString: database.connectionString,
        schema: database.schema,
        adapter,
        bus,
        registry,
        logger,
        queues: config.WORKER_QUEUES ?? defaultQueues(registry),
        concurrency: config.WORKER_CONCURRENCY,
        leaseMs: config.LEASE_MS,
        heartbeatMs: heartbeatMs(config),
        reaperIntervalMs: config.REAPER_INTERVAL_MS,
        reconcileIntervalMs: config.RECONCILE_INTERVAL_MS,
        shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
        abortGraceMs: config.ABORT_GRACE_MS,
        resultMaxBytes: config.RESULT_MAX_BYTES,
        maintenanceIntervalMs: config.MAINTENANCE_INTERVAL_MS,
        retention: { defaultMs: config.RETENTION_MS, byQueue: config.QUEUE_RETENTION_MS },
      });
      // Pushed first: stop() also undoes a start that failed halfway.
      const starting = worker;
      stack.push(() => starting.stop());
      await worker.start();
    }

    let url: string;
    if (role === 'worker') {
      const running = worker;
      const health = buildHealthServer(() => ({ healthy: true, role, workerId: running?.workerId }));
      url = await health.listen(config.PORT, config.HOST);
      stack.push(() => health.stop());
      logger.info({ url, adapter: adapter.name }, 'jobql worker is ready');
    } else {
      // Loaded only by the processes that serve it: a worker process is about 22 MB smaller
      // without the schema and the server's modules.
      const { buildGraphqlServer } = await import('../server/graphql-server.js');
      const { BrowserPolicy } = await import('../server/browser-policy.js');
      const { PersistedOperations } = await import('../server/persisted-operations.js');
      const access = createConfiguredAccess(config, requestsDb);
      const server = buildGraphqlServer({
        service,
        access,
        logger,
        introspection: config.GRAPHQL_INTROSPECTION,
        graphiql: config.GRAPHIQL,
        credentialCheckMs: CREDENTIAL_CHECK_MS,
        browser: new BrowserPolicy({ origins: config.CORS_ORIGINS, allowLocalhost: config.AUTH_MODE === 'open' }),
        armour: {
          maxDepth: config.ARMOR_MAX_DEPTH,
          maxAliases: config.ARMOR_MAX_ALIASES,
          maxTokens: config.ARMOR_MAX_TOKENS,
          maxDirectives: config.ARMOR_MAX_DIRECTIVES,
          maxCost: config.ARMOR_MAX_COST,
        },
        maxBodyBytes: config.MAX_BODY_BYTES,
        maxSubscriptionsPerConnection: config.MAX_SUBSCRIPTIONS_PER_CONNECTION,
        rateLimits: { requestsPerMinute: config.RATE_LIMIT_REQUESTS_PER_MINUTE, tasksPerMinute: config.RATE_LIMIT_TASKS_PER_MINUTE },
        connectionsPerRequest: config.API_CONNECTIONS_PER_REQUEST,
        persistedOperations: config.PERSISTED_OPERATIONS ? await PersistedOperations.load(config.PERSISTED_OPERATIONS) : undefined,
      });
      url = await server.listen(config.PORT, config.HOST);
      // First on stop: no new requests while the worker drains.
      stack.push(() => server.stop());
      logger.info({ url, adapter: adapter.name, authMode: config.AUTH_MODE }, `jobql is ready at ${url}${config.GRAPHIQL ? ' (GraphiQL there)' : ''}`);
      logger.info(accessSummary(config));
    }
    return { url, service, worker, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function defaultQueues(registry: TaskRegistry): WorkerQueue[] {
  const queues = new Set(['default']);
  for (const name of registry.names()) {
    const queue = registry.get(name)?.queue;
    if (queue) queues.add(queue);
  }
  return [...queues].map((name) => ({ name }));
}
