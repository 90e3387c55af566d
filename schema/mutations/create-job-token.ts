import { AuthorizationError, NotFoundError, ValidationError } from '../../src/errors/index.js';
import { builder } from '../builder.js';
import { parseGlobalId } from '../global-id.js';
import { JobRef } from '../types/job.js';

interface JobToken {
  readonly token: string;
  readonly expiresAt: Date;
  readonly jobId: string;
}

const JobTokenRef = builder.objectRef<JobToken>('CreateJobTokenSuccess').implement({
  description: 'A token that reads this one job, its tasks and its events, and nothing else, until it expires.',
  fields: (t) => ({
    token: t.exposeString('token', { description: 'Sent as `Authorization: Bearer <token>`, or as `authorization` in graphql-ws connection params.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
    job: t.field({ type: JobRef, resolve: (token) => token.jobId }),
  }),
});

builder.mutationField('createJobToken', (t) =>
  t.field({
    type: JobTokenRef,
    description:
      "Makes a short-lived token for a browser to follow one job of the caller's tenant: `job`, `task` and `jobProgress` on that job only. Needs the `submit` scope.",
    authScopes: { submit: true },
    args: {
      jobId: t.arg.id({ required: true }),
      expiresInSeconds: t.arg.int({ required: false, description: 'Defaults to JOB_TOKEN_DEFAULT_SECONDS (15 minutes); at most JOB_TOKEN_MAX_SECONDS.' }),
    },
    errors: {
      types: [ValidationError, NotFoundError, AuthorizationError],
      union: { name: 'CreateJobTokenResult' },
      directResult: true,
    },
    resolve: async (_root, args, context) => {
      const jobId = parseGlobalId(String(args.jobId), 'Job', 'jobId');
      const made = await context.access.createJobToken(context.principal.tenancy, jobId, args.expiresInSeconds ?? undefined);
      return { ...made, jobId };
    },
  }),
);

