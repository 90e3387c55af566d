import type { Selectable } from 'kysely';
import type { JobProgressSnapshot } from '../domain/progress-roll-up.js';
import { TASK_STATUSES, type TaskStatus, type TaskStatusCounts } from '../domain/state-machine.js';
import type { ApiKeysTable, JobsTable, TaskAttemptsTable, TasksTable } from './database.js';

/** The rows the store hands out. */
export type JobRecord = Selectable<JobsTable>;
export type TaskRecord = Selectable<TasksTable>;
export type TaskAttemptRecord = Selectable<TaskAttemptsTable>;
export type ApiKeyRecord = Selectable<ApiKeysTable>;

const COUNTER_COLUMN = {
  BLOCKED: 'blockedCount',
  QUEUED: 'queuedCount',
  SCHEDULED: 'scheduledCount',
  RUNNING: 'runningCount',
  SUCCEEDED: 'succeededCount',
  FAILED: 'failedCount',
  CANCELLED: 'cancelledCount',
} as const satisfies Record<TaskStatus, keyof JobRecord>;

/** How many of the job's tasks are in each status, from the counters its row keeps. */
export function jobTaskCounts(job: JobRecord): TaskStatusCounts {
  return Object.fromEntries(TASK_STATUSES.map((status) => [status, job[COUNTER_COLUMN[status]]])) as Record<TaskStatus, number>;
}

/** What the job's progress is made of, from its row. */
export function jobProgressSnapshot(job: JobRecord): JobProgressSnapshot {
  return { units: Number(job.progressUnits), counts: jobTaskCounts(job) };
}
