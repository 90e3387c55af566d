import type { LogEvent } from 'kysely';
import type { Logger } from 'pino';
import { createProcessLogger } from './process-logger.js';
import { heartbeatMs, roleProblem, type Config, type ProcessRole } from '../config.js';
import { createConfiguredAdapter } from './configured-adapter.js';
import { openConfiguredDatabase } from './configured-database.js';
import { createConfiguredEventBus } from './configured-event-bus.js';
import { withJobOutcomeLog } from './job-outcome-log.js';
import { accessSummary, createConfiguredAccess } from './configured-access.js';
import { ProcessHealth } from '../health/process-health.js';
import { processChecks } from '../health/process-checks.js';
import { LIVE_PATH, METRICS_PATH, ProcessHttp, READY_PATH } from '../server/process-http.js';
import { metricsEndpoint } from '../metrics/metrics-endpoint.js';
import { ProcessMetrics } from '../metrics/process-metrics.js';
import { queueDepths } from '../store/queue-depths.js';
import { isOperator, type AccessService } from '../access/index.js';
import { JobService } from '../service/job-service.js';
import { OperationsService } from '../service/operations-service.js';
import { ScheduleService } from '../service/schedule-service.js';
import type { ScheduleDefinition } from '../service/define-schedule.js';
import { DEFAULT_TENANT } from '../domain/tenancy.js';
import { every } from '../worker/every.js';
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
  /** Cron schedules to keep in the store (see defineSchedule). */
  readonly schedules?: readonly ScheduleDefinition[];
  readonly logger?: Logger;
  /** Sees every SQL statement (the query-count tests count them). */
  readonly onQuery?: (event: LogEvent) => void;
}

export interface JobQl {
  /** The GraphQL endpoint (e.g. http://localhost:4000/graphql), or a worker's liveness URL. */
  readonly url: string;
  /** What `/health/ready` reports. */
  readonly health: ProcessHealth;
  readonly service: JobService;
  /** Absent in an API-only process. */
  readonly worker: Worker | undefined;
  /** Stops taking work, lets running tasks finish within the grace period, then closes everything. */
  stop(): Promise<void>;
}

/**
 * A process of the given role: its HTTP port first (the probes answer from then on, `ready` once
 * everything below is), PostgreSQL (the given one, waited for while it cannot be reached, or an
 * embedded one it starts), the migrations, the queue adapter and event bus, then a worker and/or
 * the GraphQL server.
 */
export async function startJobQl(options: JobQlOptions): Promise<JobQl> {
  const { config } = options;
  const role = options.role ?? 'all';
  const problem = roleProblem(config, role);
  if (problem !== undefined) throw new Error(`invalid configuration: ${problem}`);
  const logger = (options.logger ?? (await createProcessLogger(config))).child({ role });
  const stack: (() => Promise<void>)[] = [];
  const health = new ProcessHealth();
  const metrics = new ProcessMetrics();
  const stop = async (): Promise<void> => {
    health.stopping();
    for (const step of stack.reverse()) await step().catch((error: unknown) => logger.error({ err: error }, 'stop step failed'));
    stack.length = 0;
  };
  try {
    const http = new ProcessHttp(health, role === 'worker' ? 'NOT_FOUND' : 'STARTING');
    const base = await http.listen(config.PORT, config.HOST);
    stack.push(() => http.stop());
    logger.info({ health: `${base}${READY_PATH}` }, `listening on ${base}; ${READY_PATH} answers 200 once started`);
    const database = await openConfiguredDatabase(config, {
      log: (message) => logger.info(message),
      onWaiting: (reason) => {
        health.starting(`waiting for PostgreSQL (${reason})`);
        logger.warn(`PostgreSQL cannot be reached yet (${reason}); retrying`);
      },
      ...(options.onQuery ? { onQuery: options.onQuery } : {}),
    });
    stack.push(database.close);
    const { db } = database;
    metrics.reportPools(() => database.poolUse());
    metrics.reportQueues(() => queueDepths(db));

    const registry = new TaskRegistry([...demoTasks, ...(options.tasks ?? [])]);
    const adapter = await createConfiguredAdapter(config, database, logger);
    stack.push(() => adapter.close());
    const bus = withJobOutcomeLog(await createConfiguredEventBus(config, database, logger), logger);
    stack.push(() => bus.close());
    metrics.reportBus(() => bus.listening);
    // The callers' statements run on a pool of their own, with a statement timeout; the worker,
    // the adapter and the bus keep the other one.
    const requestsDb = role === 'worker' ? db : database.openPool({ name: 'api', maxConnections: config.API_POOL_SIZE, statementTimeoutMs: config.API_STATEMENT_TIMEOUT_MS });
    const service = new JobService({
      db: requestsDb,
      adapter,
      bus,
      registry,
      maxTasksPerJob: config.MAX_TASKS_PER_JOB,
      idempotencyKeyTtlMs: config.IDEMPOTENCY_KEY_TTL_MS,
      watchResyncMs: config.SUBSCRIPTION_RESYNC_MS,
    });

    // On the callers' pool, as the job service whose submissions it makes.
    const schedules = new ScheduleService({ db: requestsDb, jobs: service, logger, missedAfterMs: config.SCHEDULE_MISSED_AFTER_MS });
    for (const { tenant, ...definition } of options.schedules ?? []) {
      await schedules.upsert({ tenant: tenant ?? DEFAULT_TENANT }, definition, 'CODE');
    }

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
        metrics,
      });
      // Pushed first: stop() also undoes a start that failed halfway.
      const starting = worker;
      stack.push(() => starting.stop());
      await worker.start();
      const scheduler = every(config.SCHEDULER_INTERVAL_MS, () => schedules.submitDue(), 'scheduler', logger);
      stack.push(() => scheduler.stop());
    }

    for (const check of processChecks({ db, schema: database.schema, adapter, bus, worker })) health.add(check);
    // The API's access service, or (in a worker) one made at the first scrape that needs it.
    let access: AccessService | undefined;
    const accessService = (): AccessService => (access ??= createConfiguredAccess(config, requestsDb));
    if (config.METRICS_PORT === undefined) {
      // Metrics show every tenant's queues and task types: the operator's tenant only.
      const operator = async (authorization: string | undefined): Promise<boolean> => {
        return isOperator(await accessService().authenticate(authorization));
      };
      http.serveMetrics(metricsEndpoint(metrics, operator));
    } else {
      const metricsHttp = new ProcessHttp(health, 'NOT_FOUND');
      metricsHttp.serveMetrics(metricsEndpoint(metrics, undefined));
      const metricsBase = await metricsHttp.listen(config.METRICS_PORT, config.METRICS_HOST);
      stack.push(() => metricsHttp.stop());
      logger.info({ metrics: `${metricsBase}${METRICS_PATH}` }, `metrics at ${metricsBase}${METRICS_PATH}, to anyone who reaches that address`);
    }
    let url: string;
    if (role === 'worker') {
      url = `${base}${LIVE_PATH}`;
      health.running();
      logger.info({ url, adapter: adapter.name, workerId: worker?.workerId }, 'jobql worker is ready');
    } else {
      // Loaded only by the processes that serve it: a worker process is about 22 MB smaller
      // without the schema and the server's modules.
      const { buildGraphqlServer, GRAPHQL_PATH } = await import('../server/graphql-server.js');
      const { BrowserPolicy } = await import('../server/browser-policy.js');
      const { PersistedOperations } = await import('../server/persisted-operations.js');
      const server = buildGraphqlServer({
        metrics,
        http: http.server,
        health,
        service,
        operations: new OperationsService(requestsDb),
        schedules,
        access: accessService(),
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
      http.serve(server.handle);
      url = `${base}${GRAPHQL_PATH}`;
      // First on stop: no new requests while the worker drains.
      stack.push(() => {
        http.serve(undefined);
        return server.stop();
      });
      health.running();
      logger.info({ url, adapter: adapter.name, authMode: config.AUTH_MODE }, `jobql is ready at ${url}${config.GRAPHIQL ? ' (GraphiQL there)' : ''}`);
      logger.info(accessSummary(config));
    }
    return { url, health, service, worker, stop };
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
