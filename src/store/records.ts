import type { Selectable } from 'kysely';
import type { JobEventsTable, JobsTable, TaskAttemptsTable, TasksTable } from './database.js';

export type JobRecord = Selectable<JobsTable>;
export type TaskRecord = Selectable<TasksTable>;
export type TaskAttemptRecord = Selectable<TaskAttemptsTable>;
export type JobEventRecord = Selectable<JobEventsTable>;
