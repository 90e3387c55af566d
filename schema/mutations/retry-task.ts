import { builder } from '../builder.js';
import { parseGlobalId } from '../global-id.js';
import { COMMAND_ERRORS } from '../types/errors.js';
import { TaskRef } from '../types/task.js';

builder.mutationField('retryTask', (t) =>
  t.field({
    type: TaskRef,
    description:
      'Runs a FAILED or CANCELLED task again with a fresh attempt budget; its job goes back to RUNNING. A task with dependencies is BLOCKED until they have succeeded; one whose dependency FAILED or was CANCELLED is refused (retry that first).',
    authScopes: { retry: true },
    args: { id: t.arg.id({ required: true }) },
    errors: { types: COMMAND_ERRORS, result: { name: 'RetryTaskSuccess' }, union: { name: 'RetryTaskResult' }, dataField: { name: 'task' } },
    resolve: (_root, args, context) => context.service.retryTask(context.principal.tenancy, parseGlobalId(String(args.id), 'Task')),
  }),
);
