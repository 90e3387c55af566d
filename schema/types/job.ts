import { offsetPage } from './offset-page.js';
import { rollUpJobProgress } from '../../src/domain/progress-roll-up.js';
import { builder } from '../builder.js';
import { JobStatusEnum } from './enums.js';
import { JobEventRef } from './job-event.js';
import { JobProgressRef, TaskCountsRef } from './job-progress.js';
import { inKeyOrder } from './loaded-by-id.js';
import { TaskRef } from './task.js';
import { jobProgressSnapshot, jobTaskCounts, type JobRecord } from '../../src/service/index.js';

export const JobRef = builder.loadableNode('Job', {
  description: 'A named unit of work made of tasks. Its status is derived from its tasks.',
  id: { resolve: (job: JobRecord) => job.id },
  load: async (ids: string[], context) => inKeyOrder(ids, await context.service.jobsByIds(context.principal.tenancy, ids)),
  fields: (t) => ({
    name: t.exposeString('name'),
    queue: t.exposeString('queue'),
    priority: t.exposeInt('priority', { description: '1–10, higher first.' }),
    status: t.expose('status', { type: JobStatusEnum }),
    idempotencyKey: t.exposeString('idempotencyKey', { nullable: true }),
    metadata: t.expose('metadata', { type: 'JSON' }),
    taskCount: t.exposeInt('taskCount'),
    taskCounts: t.field({ type: TaskCountsRef, resolve: (job) => jobTaskCounts(job) }),
    progress: t.field({
      type: JobProgressRef,
      description: "Its tasks' progress rolled up into one number, kept as they change (no scan of the tasks).",
      resolve: (job) => rollUpJobProgress(jobProgressSnapshot(job)),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    tasks: t.connection({
      type: TaskRef,
      description: 'The tasks in the order they were submitted.',
      resolve: (job, args, context) =>
        offsetPage(args, ({ offset, limit }) => context.loaders.taskPage.load({ jobId: job.id, offset, limit })),
    }),
    events: t.connection({
      type: JobEventRef,
      description: 'What happened to the job and its tasks, oldest first.',
      resolve: (job, args, context) =>
        offsetPage(args, ({ offset, limit }) => context.loaders.eventPage.load({ jobId: job.id, offset, limit })),
    }),
  }),
});

// Declared here rather than in task.ts, which job.ts already imports.
builder.objectField(TaskRef, 'job', (t) => t.field({ type: JobRef, resolve: (task) => task.jobId }));
