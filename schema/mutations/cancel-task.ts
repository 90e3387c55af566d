import { builder } from '../builder.js';
import { parseGlobalId } from '../global-id.js';
import { COMMAND_ERRORS } from '../types/errors.js';
import { TaskRef } from '../types/task.js';

builder.mutationField('cancelTask', (t) =>
  t.field({
    type: TaskRef,
    description:
      'Cancels a BLOCKED, QUEUED, SCHEDULED or RUNNING task (a running one is aborted, in whichever worker runs it); the tasks that depend on it are cancelled too, other siblings are left alone.',
    authScopes: { cancel: true },
    args: { id: t.arg.id({ required: true }) },
    errors: { types: COMMAND_ERRORS, result: { name: 'CancelTaskSuccess' }, union: { name: 'CancelTaskResult' }, dataField: { name: 'task' } },
    resolve: (_root, args, context) => context.service.cancelTask(context.principal.tenancy, parseGlobalId(String(args.id), 'Task')),
  }),
);
