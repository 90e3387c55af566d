import { resolveCursorConnection } from '@pothos/plugin-relay';
import { builder } from './builder.js';
import { ValidationError } from '../src/errors/index.js';
import { isUuid } from '../src/domain/uuid.js';
import { JobStatusEnum } from './types/enums.js';
import { JobRef } from './types/job.js';
import { TaskRef } from './types/task.js';
import type { JobRecord, JobCursor } from '../src/service/index.js';

builder.queryField('job', (t) =>
  t.field({
    type: JobRef,
    nullable: true,
    authScopes: { read: true, job: true },
    args: { id: t.arg.globalID({ required: true, for: JobRef }) },
    resolve: (_root, args) => args.id.id,
  }),
);

builder.queryField('task', (t) =>
  t.field({
    type: TaskRef,
    nullable: true,
    authScopes: { read: true, job: true },
    args: { id: t.arg.globalID({ required: true, for: TaskRef }) },
    resolve: (_root, args) => args.id.id,
  }),
);

builder.queryField('jobs', (t) =>
  t.connection({
    type: JobRef,
    description: 'Jobs, newest first.',
    authScopes: { read: true },
    args: {
      status: t.arg({ type: [JobStatusEnum], required: false, description: 'Any of these statuses.' }),
      queue: t.arg.string({ required: false }),
      name: t.arg.string({ required: false }),
      createdAfter: t.arg({ type: 'DateTime', required: false, description: 'Created at or after this instant.' }),
      createdBefore: t.arg({ type: 'DateTime', required: false, description: 'Created before this instant.' }),
    },
    resolve: (_root, args, context) =>
      resolveCursorConnection<Promise<JobRecord[]>>(
        { args, toCursor: encodeJobCursor, maxSize: 500 },
        ({ before, after, limit, inverted }) =>
          context.service.listJobs(context.principal.tenancy, {
            filter: {
              ...(args.status ? { status: args.status } : {}),
              ...(args.queue != null ? { queue: args.queue } : {}),
              ...(args.name != null ? { name: args.name } : {}),
              ...(args.createdAfter ? { createdAfter: args.createdAfter } : {}),
              ...(args.createdBefore ? { createdBefore: args.createdBefore } : {}),
            },
            ...(after ? { after: decodeJobCursor(after, 'after') } : {}),
            ...(before ? { before: decodeJobCursor(before, 'before') } : {}),
            limit,
            inverted,
          }),
      ),
  }),
);

function encodeJobCursor(job: JobRecord): string {
  return Buffer.from(`${job.createdAt.toISOString()}|${job.id}`).toString('base64url');
}

/** A cursor of this connection, or a ValidationError: nothing else reaches the store. */
function decodeJobCursor(cursor: string, argument: 'after' | 'before'): JobCursor {
  const [createdAt, id, ...rest] = Buffer.from(cursor, 'base64url').toString().split('|');
  const date = new Date(createdAt ?? '');
  if (!id || !isUuid(id) || rest.length > 0 || Number.isNaN(date.getTime())) {
    throw ValidationError.field(argument, `"${cursor.slice(0, 60)}" is not a cursor of this connection`);
  }
  return { createdAt: date, id };
}
