import { BACKOFF_TYPES } from '../../src/domain/backoff.js';
import { EVENT_TYPES } from '../../src/domain/job-event.js';
import { JOB_STATUSES, TASK_STATUSES } from '../../src/domain/state-machine.js';
import { builder } from '../builder.js';

export const JobStatusEnum = builder.enumType('JobStatus', { values: JOB_STATUSES });
export const TaskStatusEnum = builder.enumType('TaskStatus', {
  description: 'BLOCKED: waiting for the tasks it depends on to succeed. SCHEDULED: waiting for a run time or a retry backoff.',
  values: TASK_STATUSES,
});
export const JobEventTypeEnum = builder.enumType('JobEventType', { values: EVENT_TYPES });
export const BackoffTypeEnum = builder.enumType('BackoffType', {
  description: 'FIXED: the same wait every time. EXPONENTIAL: delayMs, then twice that, and so on.',
  values: BACKOFF_TYPES,
});
