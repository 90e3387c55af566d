import type { LogEvent } from 'kysely';
import pino, { type Logger } from 'pino';
import { createMemoryAdapter } from '../adapters/memory/memory-adapter.js';
import type { QueueAdapter } from '../adapters/queue-adapter.js';
import { heartbeatMs, type Config } from './config.js';
import { openConfiguredDatabase } from './configured-database.js';
import { createLocalEventBus } from './events/local-event-bus.js';
import { buildGraphqlServer, type GraphqlServer } from './server/graphql-server.js';
import { JobService } from './service/job-service.js';
import type { Db } from './store/database.js';
import { demoTasks } from './tasks/demo-tasks.js';
import type { AnyTaskDefinition } from './tasks/define-task.js';
import { TaskRegistry } from './tasks/task-registry.js';
import { Worker } from './worker/worker.js';

export interface JobQlOptions {
  readonly config: Config;
  /** Task types to register beside the demo ones. */
  readonly tasks?: readonly AnyTaskDefinition[];
  readonly logger?: Logger;
  /** Sees every SQL statement (the query-count tests count them). */
  readonly onQuery?: (event: LogEvent) => void;
}

export interface JobQl {
  /** The GraphQL endpoint, e.g. http://localhost:4000/graphql. */
  readonly url: string;
  readonly service: JobService;
  readonly db: Db;
  readonly worker: Worker;
  stop(): Promise<void>;
}

/**
 * One process with everything: PostgreSQL (the given one, or an embedded one it starts), the
 * migrations, the queue adapter, a worker and the GraphQL server.
 */
export async function startJobQl(options: JobQlOptions): Promise<JobQl> {
  const { config } = options;
  const logger = options.logger ?? pino({ level: config.LOG_LEVEL });
  const stack: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    for (const step of stack.reverse()) await step().catch((error: unknown) => logger.error({ err: error }, 'stop step failed'));
    stack.length = 0;
  };
  try {
    const { db, close } = await openConfiguredDatabase(config, {
      log: (message) => logger.info(message),
      ...(options.onQuery ? { onQuery: options.onQuery } : {}),
    });
    stack.push(close);

    const registry = new TaskRegistry([...demoTasks, ...(options.tasks ?? [])]);
    const adapter: QueueAdapter = createMemoryAdapter();
    stack.push(() => adapter.close());
    const bus = createLocalEventBus();
    stack.push(() => bus.close());
    const service = new JobService({ db, adapter, bus, registry, maxTasksPerJob: config.MAX_TASKS_PER_JOB });

    const worker = new Worker({
      db,
      adapter,
      bus,
      registry,
      logger,
      queues: config.WORKER_QUEUES ?? defaultQueues(registry),
      concurrency: config.WORKER_CONCURRENCY,
      leaseMs: config.LEASE_MS,
      heartbeatMs: heartbeatMs(config),
      reaperIntervalMs: config.REAPER_INTERVAL_MS,
    });
    await worker.start();
    stack.push(() => worker.stop());

    const server: GraphqlServer = buildGraphqlServer({ service, bus, logger });
    const url = await server.listen(config.PORT, config.HOST);
    stack.push(() => server.stop());
    logger.info({ url }, `jobql is ready: GraphiQL at ${url}`);
    return { url, service, db, worker, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function defaultQueues(registry: TaskRegistry): string[] {
  const queues = new Set(['default']);
  for (const name of registry.names()) {
    const queue = registry.get(name)?.queue;
    if (queue) queues.add(queue);
  }
  return [...queues];
}
