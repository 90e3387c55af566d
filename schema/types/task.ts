import { builder } from '../builder.js';
import { TaskStatusEnum } from './enums.js';
import { BackoffRef, TaskAttemptRef } from './task-attempt.js';
import { TaskErrorRef } from './task-error.js';
import { inKeyOrder } from './loaded-by-id.js';
import type { TaskProgressValue } from '../../src/domain/task-values.js';
import type { TaskRecord } from '../../src/service/index.js';

export const ProgressRef = builder.objectRef<TaskProgressValue>('Progress').implement({
  fields: (t) => ({
    current: t.exposeFloat('current'),
    total: t.exposeFloat('total', { nullable: true }),
    percent: t.float({
      nullable: true,
      description: 'current / total as a percentage, when the total is known.',
      resolve: (p) => (p.total ? Math.round((p.current / p.total) * 1000) / 10 : null),
    }),
    message: t.exposeString('message', { nullable: true }),
  }),
});

export const TaskRef = builder.loadableNode('Task', {
  description: 'One call of one registered handler with a JSON payload.',
  id: { resolve: (task: TaskRecord) => task.id },
  load: async (ids: string[], context) => inKeyOrder(ids, await context.service.tasksByIds(context.principal.tenancy, ids)),
  fields: (t) => ({
    key: t.exposeString('key', { nullable: true }),
    type: t.exposeString('type'),
    queue: t.exposeString('queue'),
    concurrencyKey: t.exposeString('concurrencyKey', { nullable: true }),
    concurrencyLimit: t.exposeInt('concurrencyLimit', { nullable: true }),
    priority: t.exposeInt('priority'),
    status: t.expose('status', { type: TaskStatusEnum }),
    payload: t.expose('payload', { type: 'JSON', nullable: true, description: 'Null when the payload is JSON null or was left out.' }),
    result: t.expose('result', { type: 'JSON', nullable: true }),
    error: t.expose('error', { type: TaskErrorRef, nullable: true }),
    progress: t.expose('progress', { type: ProgressRef, nullable: true }),
    attempt: t.exposeInt('attempt', { description: 'The number of the latest attempt (0 before the first).' }),
    maxAttempts: t.exposeInt('maxAttempts'),
    timeoutMs: t.exposeInt('timeoutMs', { nullable: true }),
    backoff: t.expose('backoff', { type: BackoffRef, nullable: true, description: 'Null: a failed attempt is retried at once.' }),
    attempts: t.field({
      type: [TaskAttemptRef],
      description: 'Every attempt, oldest first.',
      resolve: (task, _args, context) => context.loaders.attempts.load(task.id),
    }),
    pendingDependencies: t.exposeInt('pendingDependencies', { description: 'How many of `dependsOn` have not succeeded yet: BLOCKED while above 0.' }),
    runAt: t.expose('runAt', { type: 'DateTime', description: 'Not started before this: the submitted run time, or the end of a retry backoff.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
  }),
});

// Apart from the definition above: a field typed by its own type would make TaskRef's type circular.
builder.objectField(TaskRef, 'dependsOn', (t) =>
  t.field({
    type: [TaskRef],
    description: 'The tasks of its job that must succeed before it starts, in list order.',
    resolve: (task, _args, context) => (task.dependencyCount === 0 ? [] : context.loaders.dependencies.load(task.id)),
  }),
);
