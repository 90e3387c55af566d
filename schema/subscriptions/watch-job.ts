import type { JobEvent } from '../../src/domain/job-event.js';
import { NotFoundError, ValidationError } from '../../src/errors/index.js';
import { stoppable } from '../../src/service/index.js';
import { builder } from '../builder.js';
import { createLoaders, type Context } from '../context.js';
import { parseGlobalId } from '../global-id.js';
import { decodeEventId, JobEventRef } from '../types/job-event.js';

builder.subscriptionField('jobProgress', (t) =>
  t.field({
    type: JobEventRef,
    description:
      "The job's events: first those stored after `after` (all when absent), then live ones, with no gap and no " +
      'duplicate; completes once the job reaches a final status.',
    args: {
      jobId: t.arg.id({ required: true }),
      after: t.arg.id({ required: false, description: 'The ID of the last event the client has seen.' }),
    },
    authScopes: { read: true, job: true },
    subscribe: (_root, args, context) =>
      streamJobEvents(context, String(args.jobId), args.after == null ? undefined : String(args.after)),
    resolve: (event) => event,
  }),
);

/**
 * `JobService.watchJob` with global IDs, and fresh loaders for each event it yields. Stoppable
 * (see stoppable.ts): when the client goes away, the service's watch is ended at once.
 */
function streamJobEvents(context: Context, globalJobId: string, after: string | undefined): AsyncGenerator<JobEvent> {
  return stoppable(async function* (stopped) {
    const jobId = parseGlobalId(globalJobId, 'Job', 'jobId');
    let afterSeq = 0;
    if (after !== undefined) {
      const cursor = decodeEventId(after);
      if (!cursor || cursor.jobId !== jobId) throw ValidationError.field('after', `"${after}" is not the ID of an event of this job`);
      afterSeq = cursor.seq;
    }
    const events = context.service.watchJob(context.principal.tenancy, jobId, { afterSeq });
    stopped.addEventListener('abort', () => void events.return(undefined), { once: true });
    try {
      for await (const event of events) {
        context.loaders = createLoaders(context.service, context.principal.tenancy);
        yield event;
      }
    } catch (error) {
      // The client named the job by its global ID.
      if (error instanceof NotFoundError && error.entity === 'Job' && error.id === jobId) throw new NotFoundError('Job', globalJobId);
      throw error;
    }
  });
}
