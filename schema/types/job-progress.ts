import type { JobProgress } from '../../src/domain/progress-roll-up.js';
import type { TaskStatusCounts } from '../../src/domain/state-machine.js';
import { builder } from '../builder.js';

export const TaskCountsRef = builder.objectRef<TaskStatusCounts>('TaskCounts').implement({
  description: "How many of the job's tasks are in each status.",
  fields: (t) => ({
    blocked: t.exposeInt('BLOCKED'),
    queued: t.exposeInt('QUEUED'),
    scheduled: t.exposeInt('SCHEDULED'),
    running: t.exposeInt('RUNNING'),
    succeeded: t.exposeInt('SUCCEEDED'),
    failed: t.exposeInt('FAILED'),
    cancelled: t.exposeInt('CANCELLED'),
  }),
});

export const JobProgressRef = builder.objectRef<JobProgress>('JobProgress').implement({
  description:
    "How far a job has come: the mean of its tasks' progress, where a SUCCEEDED task counts 1, a RUNNING one " +
    '`current / total` of its last report (0 without a total, at most 0.999999), and every other task 0. FAILED and ' +
    'CANCELLED tasks count 0 but stay in the mean: it is the share of the work that succeeded, 1 exactly when every task succeeded.',
  fields: (t) => ({
    fraction: t.exposeFloat('fraction', { description: 'From 0 to 1.' }),
    percent: t.exposeFloat('percent', { description: '`fraction` as a percentage with one decimal, rounded down.' }),
    tasksTotal: t.exposeInt('tasksTotal'),
    tasksDone: t.exposeInt('tasksDone', { description: 'Tasks that finished, whatever their outcome: SUCCEEDED, FAILED or CANCELLED.' }),
    tasksSucceeded: t.exposeInt('tasksSucceeded'),
    taskCounts: t.field({ type: TaskCountsRef, resolve: (progress) => progress.counts }),
  }),
});

