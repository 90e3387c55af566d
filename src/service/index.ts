/**
 * The service's face: what the layers above it (the GraphQL schema, an embedding program) use.
 * The rows it hands out are the store's, re-exported here so that nobody above needs the store.
 */
export { JobService, type JobServiceOptions } from './job-service.js';
export { OperationsService, type QueueView } from './operations-service.js';
export type { WorkerRecord, WorkerState } from '../store/worker-registry.js';
export type { RateLimit } from '../store/rate-limits.js';
export type { RateLimitScope } from '../store/database.js';
export { RATE_LIMIT_BOUNDS, type RateLimitInput, type RateLimitKey } from './rate-limit-input.js';
export type { SubmitJobInput, TaskInput } from './submit-input.js';
export type { JobRecord, TaskAttemptRecord, TaskRecord } from '../store/records.js';
export { jobProgressSnapshot, jobTaskCounts } from '../store/records.js';
export type { JobCursor, JobFilter, PageRequest } from '../store/reads.js';
export { DEFAULT_TENANT, type Tenancy } from '../domain/tenancy.js';
export { stoppable } from './stoppable.js';
export { ScheduleService, SCHEDULE_BOUNDS, type ScheduleInput } from './schedule-service.js';
export { defineSchedule, type ScheduleDefinition } from './define-schedule.js';
export type { ScheduleRecord } from '../store/schedules.js';
export type { MissedTicks, ScheduleSource } from '../store/database.js';
