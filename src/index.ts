/**
 * jobql as a library: start a process of it, define task types, and use its service and errors.
 * What is not exported here is internal and may change without notice.
 */

// Running it.
export { startJobQl, type JobQl, type JobQlOptions } from './runtime/start-jobql.js';
export { loadConfig, configSchema, type Config, type ProcessRole } from './config.js';

// Task types.
export { defineTask, type AnyTaskDefinition, type TaskContext, type TaskDefinition, type TaskIsolation } from './tasks/define-task.js';
export type { BackoffPolicy, BackoffType } from './domain/backoff.js';

// Cron schedules, declared beside the task types.
export { defineSchedule, type ScheduleDefinition, type ScheduleInput, type MissedTicks } from './service/index.js';

// What a process offers: submit, cancel, retry, read and watch.
export {
  JobService,
  type JobCursor,
  type JobFilter,
  type JobRecord,
  type SubmitJobInput,
  type TaskAttemptRecord,
  type TaskInput,
  type TaskRecord,
} from './service/index.js';
export { DEFAULT_TENANT, type Tenancy } from './domain/tenancy.js';

// Who may call: API keys, JWTs and job tokens, as the server checks them.
export { AccessService, SCOPES, type AccessServiceOptions, type AuthMode, type Principal, type Scope } from './access/index.js';
export { JOB_STATUSES, TASK_STATUSES, type JobStatus, type TaskStatus, type TaskStatusCounts } from './domain/state-machine.js';
export { EVENT_TYPES, type EventType, type JobEvent, type JobEventData } from './domain/job-event.js';
export type { TaskErrorValue, TaskProgressValue } from './domain/task-values.js';
export { rollUpJobProgress, type JobProgress, type JobProgressSnapshot } from './domain/progress-roll-up.js';

// Errors: what the service throws, and what a handler may throw.
export {
  AuthorizationError,
  IdempotencyConflictError,
  InvalidStateError,
  JobQlError,
  NonRetryableError,
  NotFoundError,
  TaskAbortedError,
  UnauthenticatedError,
  ValidationError,
  type AbortCause,
  type FieldIssue,
} from './errors/index.js';

// The contracts a queue adapter and an event bus implement.
export type {
  AdapterCapabilities,
  ClaimCompanion,
  ConsumeParams,
  Consumer,
  Delivery,
  EnqueueParams,
  QueueAdapter,
} from '../adapters/queue-adapter.js';
export type { EventBus, StatementNotify, WrittenEvents } from '../adapters/event-bus.js';
