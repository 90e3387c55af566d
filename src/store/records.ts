import type { Selectable } from 'kysely';
import type { JobsTable, TaskAttemptsTable, TasksTable } from './database.js';

export type JobRecord = Selectable<JobsTable>;
export type TaskRecord = Selectable<TasksTable>;
export type TaskAttemptRecord = Selectable<TaskAttemptsTable>;
