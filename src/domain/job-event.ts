import type { JobProgressSnapshot } from './progress-roll-up.js';
import type { JobStatus, TaskStatus } from './state-machine.js';
import type { TaskErrorValue, TaskProgressValue } from './task-values.js';

/** What can happen to a job or its tasks: the types of the append-only event log. */
export const EVENT_TYPES = [
  'TASK_QUEUED',
  'TASK_STARTED',
  'TASK_PROGRESS',
  'TASK_SUCCEEDED',
  'TASK_FAILED',
  'TASK_RETRY_SCHEDULED',
  'TASK_CANCELLED',
  'JOB_STATUS_CHANGED',
  // The job's rolled-up progress moved: at most one per transaction, before any JOB_STATUS_CHANGED.
  'JOB_PROGRESS',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface JobEventData {
  readonly attempt?: number;
  readonly progress?: TaskProgressValue;
  readonly jobStatus?: JobStatus;
  readonly taskStatus?: TaskStatus;
  readonly message?: string;
  readonly error?: TaskErrorValue;
  /** JOB_PROGRESS: the job's progress as it became. */
  readonly jobProgress?: JobProgressSnapshot;
}

/**
 * One entry of a job's event log. Events of a job are numbered by `seq` from 1 without gaps; `id`
 * orders all events of the store.
 */
export interface JobEvent {
  readonly id: string;
  readonly jobId: string;
  readonly seq: number;
  readonly taskId: string | null;
  readonly type: EventType;
  readonly at: Date;
  readonly data: JobEventData;
}
