import { builder } from '../builder.js';
import { parseGlobalId } from '../global-id.js';
import { COMMAND_ERRORS } from '../types/errors.js';
import { JobRef } from '../types/job.js';

builder.mutationField('cancelJob', (t) =>
  t.field({
    type: JobRef,
    description: 'Cancels every unfinished task of the job; finished tasks keep their outcome.',
    authScopes: { cancel: true },
    args: { id: t.arg.id({ required: true }) },
    errors: { types: COMMAND_ERRORS, result: { name: 'CancelJobSuccess' }, union: { name: 'CancelJobResult' }, dataField: { name: 'job' } },
    resolve: (_root, args, context) => context.service.cancelJob(context.principal.tenancy, parseGlobalId(String(args.id), 'Job')),
  }),
);
