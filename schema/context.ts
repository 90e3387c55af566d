import DataLoader from 'dataloader';
import { inKeyOrder } from './types/loaded-by-id.js';
import type { JobEvent } from '../src/domain/job-event.js';
import type { JobService, OperationsService, PageRequest, ScheduleService, TaskAttemptRecord, TaskRecord, Tenancy } from '../src/service/index.js';
import type { AccessService, Principal } from '../src/access/index.js';
import type { ProcessHealth } from '../src/health/process-health.js';

/**
 * Per-request state of a GraphQL operation: the services, the only doors to what the system
 * holds, who is calling (the server derived it from the request's credential), and the request's
 * loaders over the service's readers, in the caller's tenancy. Loaders are made fresh for each
 * request, and a subscription replaces them before each event it yields, so no payload shows a
 * stale task.
 */
export interface Context {
  readonly service: JobService;
  /** Workers, queues and their controls. */
  readonly operations: OperationsService;
  readonly schedules: ScheduleService;
  readonly access: AccessService;
  /** The answering process's readiness checks. */
  readonly health: ProcessHealth;
  readonly principal: Principal;
  /** The caller's allowance of submitted tasks (the server's rate limit). */
  readonly quota: TaskQuota;
  loaders: RequestLoaders;
}

export interface TaskQuota {
  /** Counts `count` tasks the caller submits; throws RateLimitError past its rate. */
  take(count: number): Promise<void>;
}

export interface RequestLoaders {
  readonly task: DataLoader<string, TaskRecord | null>;
  readonly taskPage: DataLoader<PageRequest, TaskRecord[], string>;
  readonly eventPage: DataLoader<PageRequest, JobEvent[], string>;
  /** A task's attempts, oldest first. */
  readonly attempts: DataLoader<string, TaskAttemptRecord[]>;
  /** The tasks a task depends on, in list order. */
  readonly dependencies: DataLoader<string, TaskRecord[]>;
}

const pageKey = (request: PageRequest): string => `${request.jobId}:${request.offset}:${request.limit}`;

/**
 * Pages of many jobs' tasks (or events) requested in one tick cost one statement. Each loader is
 * made when first used: a subscription makes a set for every event it sends, and most events'
 * selections (or another subscriber's shared execution) never touch them.
 */
export function createLoaders(service: JobService, tenancy: Tenancy): RequestLoaders {
  let task: RequestLoaders['task'] | undefined;
  let taskPage: RequestLoaders['taskPage'] | undefined;
  let eventPage: RequestLoaders['eventPage'] | undefined;
  let attempts: RequestLoaders['attempts'] | undefined;
  let dependencies: RequestLoaders['dependencies'] | undefined;
  return {
    get task() {
      return (task ??= new DataLoader(async (ids) => inKeyOrder(ids, await service.tasksByIds(tenancy, ids))));
    },
    get taskPage() {
      return (taskPage ??= new DataLoader(async (requests) => splitPages(requests, await service.taskPages(tenancy, requests), (t) => t.position), {
        cacheKeyFn: pageKey,
      }));
    },
    get eventPage() {
      return (eventPage ??= new DataLoader(async (requests) => splitPages(requests, await service.eventPages(tenancy, requests), (e) => e.seq - 1), {
        cacheKeyFn: pageKey,
      }));
    },
    get attempts() {
      return (attempts ??= new DataLoader(async (taskIds) => groupedBy(taskIds, await service.attemptsByTaskIds(tenancy, taskIds), (row) => row.taskId)));
    },
    get dependencies() {
      return (dependencies ??= new DataLoader(async (taskIds) =>
        groupedBy(taskIds, await service.dependenciesByTaskIds(tenancy, taskIds), (row) => row.dependantId),
      ));
    },
  };
}

/** The rows of each key, in key order, each group in the rows' order. */
function groupedBy<Row>(keys: readonly string[], rows: readonly Row[], keyOf: (row: Row) => string): Row[][] {
  const groups = new Map<string, Row[]>(keys.map((key) => [key, []]));
  for (const row of rows) groups.get(keyOf(row))?.push(row);
  return keys.map((key) => groups.get(key) ?? []);
}

function splitPages<T extends { jobId: string }>(requests: readonly PageRequest[], rows: readonly T[], index: (row: T) => number): T[][] {
  return requests.map((r) => rows.filter((row) => row.jobId === r.jobId && index(row) >= r.offset && index(row) < r.offset + r.limit));
}

export function createContext(
  services: {
    readonly service: JobService;
    readonly operations: OperationsService;
    readonly schedules: ScheduleService;
    readonly access: AccessService;
    readonly health: ProcessHealth;
  },
  principal: Principal,
  quota: TaskQuota,
): Context {
  return { ...services, principal, quota, loaders: createLoaders(services.service, principal.tenancy) };
}
