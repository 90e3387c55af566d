import type { BackoffPolicy } from '../../src/domain/backoff.js';
import { builder } from '../builder.js';
import { BackoffTypeEnum, TaskStatusEnum } from './enums.js';
import { TaskErrorRef } from './task-error.js';
import type { TaskAttemptRecord } from '../../src/service/index.js';

export const TaskAttemptRef = builder.objectRef<TaskAttemptRecord>('TaskAttempt').implement({
  description: 'One execution of a task by one worker. Every attempt is kept.',
  fields: (t) => ({
    number: t.exposeInt('number', { description: '1 for the first run.' }),
    status: t.expose('status', { type: TaskStatusEnum, description: 'RUNNING while it runs, then SUCCEEDED, FAILED or CANCELLED.' }),
    error: t.expose('error', { type: TaskErrorRef, nullable: true }),
    workerId: t.exposeString('workerId'),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
  }),
});

export const BackoffRef = builder.objectRef<BackoffPolicy>('Backoff').implement({
  description: 'How long a failed task waits before its next attempt.',
  fields: (t) => ({
    type: t.expose('type', { type: BackoffTypeEnum }),
    delayMs: t.exposeInt('delayMs'),
    maxDelayMs: t.exposeInt('maxDelayMs', { nullable: true }),
    jitter: t.exposeFloat('jitter', { nullable: true, description: 'Up to this fraction (0–1) of each wait is taken away at random.' }),
  }),
});
