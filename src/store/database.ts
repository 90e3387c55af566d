import { CamelCasePlugin, Kysely, RawNode, type ColumnType, type Generated, type LogEvent, type PluginTransformQueryArgs, type RootOperationNode } from 'kysely';
import type { JobStatus, TaskStatus } from '../domain/state-machine.js';
import type { EventType, JobEventData } from '../domain/job-event.js';
import type { TaskErrorValue, TaskProgressValue } from '../domain/task-values.js';
import type { BackoffPolicy } from '../domain/backoff.js';
import type { ThroughputSnapshot } from '../domain/throughput-tally.js';
import type { MissedTicks } from '../domain/schedule-ticks.js';
import type pg from 'pg';
import { createPool, PREPARED_MARK, type PoolOptions } from '../pg/pg-pool.js';
import { SchemaScopedPostgresDialect } from './schema-introspector.js';

/** JSON columns: read as parsed values, written as JSON text (pg would turn JS arrays into SQL arrays). */
type JsonColumn<T = unknown> = ColumnType<T, string, string>;
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export interface JobsTable {
  id: Generated<string>;
  tenantId: string;
  name: string;
  queue: string;
  priority: number;
  status: JobStatus;
  idempotencyKey: string | null;
  /** The hash of the submission that claimed `idempotencyKey`: a re-sent key must come with the same one. */
  idempotencyRequestHash: string | null;
  metadata: JsonColumn<Record<string, unknown>>;
  taskCount: number;
  blockedCount: Generated<number>;
  queuedCount: Generated<number>;
  scheduledCount: Generated<number>;
  runningCount: Generated<number>;
  succeededCount: Generated<number>;
  failedCount: Generated<number>;
  cancelledCount: Generated<number>;
  eventSeq: Generated<number>;
  /** The sum of its tasks' `progressUnits`; int8, which pg hands back as a string. */
  progressUnits: ColumnType<string, never, never>;
  createdAt: Timestamp;
  updatedAt: Timestamp;
  finishedAt: NullableTimestamp;
}

export interface TasksTable {
  id: Generated<string>;
  /** Its job's tenant, kept on the task so that a read by task id is scoped without a join. */
  tenantId: string;
  jobId: string;
  position: number;
  key: string | null;
  type: string;
  queue: string;
  priority: number;
  status: TaskStatus;
  payload: JsonColumn;
  result: JsonColumn | null;
  error: JsonColumn<TaskErrorValue> | null;
  progress: JsonColumn<TaskProgressValue> | null;
  /** The task's contribution to its job's `progressUnits`, as last counted there. */
  progressUnits: ColumnType<number, never, never>;
  attempt: Generated<number>;
  /** `attempt` when retryTask last gave the task a fresh budget of `maxAttempts`. */
  attemptBase: Generated<number>;
  maxAttempts: number;
  timeoutMs: number | null;
  backoff: ColumnType<BackoffPolicy | null, string | null | undefined, string | null>;
  runAt: Timestamp;
  leaseExpiresAt: NullableTimestamp;
  workerId: string | null;
  /** How many tasks it depends on, and how many of those have not succeeded yet. */
  dependencyCount: Generated<number>;
  pendingDependencies: Generated<number>;
  /** How many tasks depend on it. */
  dependantCount: Generated<number>;
  /** Its place in its job's topological order: the order in which writes lock a job's tasks. */
  dependencyRank: number;
  createdAt: Timestamp;
  updatedAt: Timestamp;
  startedAt: NullableTimestamp;
  finishedAt: NullableTimestamp;
  /** The W3C traceparent of the submission that wrote it, when it was traced. */
  traceParent: Generated<string | null>;
  /** At most `concurrencyLimit` tasks of this key RUNNING at once (see claim-attempts.ts). */
  concurrencyKey: Generated<string | null>;
  concurrencyLimit: Generated<number | null>;
  /** Set while its key has no room: QUEUED without a delivery until woken. */
  parkedAt: Generated<Date | null>;
}

/** `taskId` waits for `dependsOn` to succeed. */
export interface TaskDependenciesTable {
  taskId: string;
  dependsOn: string;
}

export interface TaskAttemptsTable {
  taskId: string;
  number: number;
  status: TaskStatus;
  workerId: string;
  error: JsonColumn<TaskErrorValue> | null;
  startedAt: Timestamp;
  finishedAt: NullableTimestamp;
}

export interface JobEventsTable {
  // bigserial: pg hands int8 back as a string, which is what an ID wants anyway.
  id: Generated<string>;
  jobId: string;
  seq: number;
  taskId: string | null;
  type: EventType;
  at: Timestamp;
  data: JsonColumn<JobEventData>;
}

export interface ApiKeysTable {
  id: string;
  tenantId: string;
  name: string | null;
  scopes: ColumnType<string[], string[], string[]>;
  /** The key's first characters, which identify it in a listing; the rest is not kept. */
  prefix: string;
  secretHash: Buffer;
  createdAt: Timestamp;
  lastUsedAt: NullableTimestamp;
  revokedAt: NullableTimestamp;
}

export interface SigningSecretsTable {
  name: string;
  secret: Buffer;
  createdAt: Timestamp;
}

/** A worker process, as it registered and last reported. */
export interface WorkersTable {
  id: string;
  host: string;
  pid: number;
  version: string;
  /** The queues it serves, each with the slots it runs them in. */
  queues: JsonColumn<readonly ServedQueue[]>;
  slots: number;
  /** Attempts it ran at its last heartbeat. */
  running: Generated<number>;
  /** Its lease: a worker silent for longer is LOST. */
  leaseMs: number;
  startedAt: Timestamp;
  lastHeartbeatAt: Timestamp;
  stoppedAt: NullableTimestamp;
  /** Its recent attempts per queue (`ThroughputSnapshot`), as of its last heartbeat. */
  throughput: JsonColumn<ThroughputSnapshot | null>;
}

export interface ServedQueue {
  readonly name: string;
  /** The slots it takes this queue's tasks into (shared with the other queues of its consumer). */
  readonly slots: number;
}

/** An operator's settings for a queue, across tenants. */
export interface QueueControlsTable {
  queue: string;
  pausedAt: NullableTimestamp;
  /** Who paused it: the caller's key or subject, for the record. */
  pausedBy: string | null;
  updatedAt: Timestamp;
}

export type RateLimitScope = 'QUEUE' | 'TYPE';

/** A limit on attempt starts per window, of a queue or a task type, across tenants (see claim-attempts.ts). */
export interface RateLimitsTable {
  scope: RateLimitScope;
  name: string;
  maxStarts: number;
  intervalMs: number;
  /** The window `used` counts, aligned to the epoch. */
  windowStart: Generated<Date>;
  used: Generated<number>;
  setBy: string;
  updatedAt: Generated<Date>;
}

export type { MissedTicks };
export type ScheduleSource = 'CODE' | 'API';

/** A tenant's cron schedule (see src/service/schedule-service.ts). */
export interface SchedulesTable {
  tenantId: string;
  name: string;
  cron: string;
  timeZone: string;
  /** The submission each tick makes, as given (a SubmitJobInput). */
  job: JsonColumn<Record<string, unknown>>;
  missedTicks: MissedTicks;
  missedLimit: number;
  source: ScheduleSource;
  pausedAt: NullableTimestamp;
  /** The next tick to submit; null when the expression has no more. */
  nextRunAt: NullableTimestamp;
  lastRunAt: NullableTimestamp;
  lastJobId: string | null;
  /** Raised by every write of the definition. */
  revision: Generated<number>;
  createdAt: Generated<Date>;
  updatedAt: Generated<Date>;
}

export interface Database {
  jobs: JobsTable;
  tasks: TasksTable;
  taskAttempts: TaskAttemptsTable;
  taskDependencies: TaskDependenciesTable;
  jobEvents: JobEventsTable;
  apiKeys: ApiKeysTable;
  signingSecrets: SigningSecretsTable;
  workers: WorkersTable;
  queueControls: QueueControlsTable;
  rateLimits: RateLimitsTable;
  schedules: SchedulesTable;
}

export type Db = Kysely<Database>;

export interface DatabaseOptions extends PoolOptions {
  /** Sees every statement: the query-count tests listen here. */
  readonly onQuery?: (event: LogEvent) => void;
}

export function createDatabase(options: DatabaseOptions): Db {
  return databaseOn(createPool(options), options);
}

/** The store's Kysely instance over a pool the caller made (a test that listens to its clients' notices). */
export function databaseOn(pool: pg.Pool, options: Pick<DatabaseOptions, 'schema' | 'onQuery'>): Db {
  return new Kysely<Database>({
    dialect: new SchemaScopedPostgresDialect({ pool }, options.schema ?? 'public'),
    // Nested keys stay as written: payloads and results are the user's JSON, not our columns.
    plugins: [new StoreCasePlugin({ maintainNestedObjectKeys: true })],
    ...(options.onQuery ? { log: options.onQuery } : {}),
  });
}

/**
 * CamelCasePlugin, except that a prepared statement's text goes to the driver as written: it is
 * SQL with snake_case names and no identifiers of Kysely's to rename, and the snake-case pass
 * would rebuild its whole tree (hundreds of nodes for a claim) at every execution, about 3.5 KB a
 * job at concurrency 50 (heap sampling). Its rows are still camel-cased.
 */
class StoreCasePlugin extends CamelCasePlugin {
  override transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return isPreparedStatement(args.node) ? args.node : super.transformQuery(args);
  }
}

function isPreparedStatement(node: RootOperationNode): boolean {
  if (!RawNode.is(node) || node.sqlFragments[0] !== '') return false;
  const first = node.parameters[0];
  return first !== undefined && RawNode.is(first) && first.sqlFragments[0] === PREPARED_MARK;
}

export function toJson(value: unknown): string {
  return JSON.stringify(value ?? null);
}
