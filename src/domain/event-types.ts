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
