import { InvalidStateError, NotFoundError, ValidationError } from '../../src/errors/index.js';
import { builder } from '../builder.js';
import { parseGlobalId } from '../global-id.js';
import { JobRef } from '../types/job.js';
import { TaskRef } from '../types/task.js';

const COMMAND_ERRORS = [ValidationError, NotFoundError, InvalidStateError];

builder.mutationField('retryTask', (t) =>
  t.field({
    type: TaskRef,
    description:
      'Runs a FAILED or CANCELLED task again with a fresh attempt budget; its job goes back to RUNNING. A task with dependencies is BLOCKED until they have succeeded; one whose dependency FAILED or was CANCELLED is refused (retry that first).',
    args: { id: t.arg.id({ required: true }) },
    errors: { types: COMMAND_ERRORS, result: { name: 'RetryTaskSuccess' }, union: { name: 'RetryTaskResult' }, dataField: { name: 'task' } },
    resolve: (_root, args, context) => context.service.retryTask(parseGlobalId(String(args.id), 'Task')),
  }),
);

builder.mutationField('cancelTask', (t) =>
  t.field({
    type: TaskRef,
    description:
      'Cancels a BLOCKED, QUEUED, SCHEDULED or RUNNING task (a running one is aborted, in whichever worker runs it); the tasks that depend on it are cancelled too, other siblings are left alone.',
    args: { id: t.arg.id({ required: true }) },
    errors: { types: COMMAND_ERRORS, result: { name: 'CancelTaskSuccess' }, union: { name: 'CancelTaskResult' }, dataField: { name: 'task' } },
    resolve: (_root, args, context) => context.service.cancelTask(parseGlobalId(String(args.id), 'Task')),
  }),
);

builder.mutationField('cancelJob', (t) =>
  t.field({
    type: JobRef,
    description: 'Cancels every unfinished task of the job; finished tasks keep their outcome.',
    args: { id: t.arg.id({ required: true }) },
    errors: { types: COMMAND_ERRORS, result: { name: 'CancelJobSuccess' }, union: { name: 'CancelJobResult' }, dataField: { name: 'job' } },
    resolve: (_root, args, context) => context.service.cancelJob(parseGlobalId(String(args.id), 'Job')),
  }),
);
