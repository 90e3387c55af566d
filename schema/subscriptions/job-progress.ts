import { isFinalJobStatus, type JobStatus } from '../../src/domain/state-machine.js';
import { NotFoundError, ValidationError } from '../../src/errors/index.js';
import { builder } from '../builder.js';
import { createLoaders, type Context } from '../context.js';
import { parseGlobalId } from '../global-id.js';
import { decodeEventId, JobEventRef } from '../types/job-event.js';
import { EventInbox } from './event-inbox.js';
import type { JobEvent } from '../../src/domain/job-event.js';

/** With no live event for this long, the subscription reads the store in case one was missed. */
const REPLAY_PAGE = 1_000;

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
    subscribe: (_root, args, context) =>
      streamJobEvents(context, String(args.jobId), args.after == null ? undefined : String(args.after)),
    resolve: (event) => event,
  }),
);

async function* streamJobEvents(context: Context, globalJobId: string, after: string | undefined): AsyncGenerator<JobEvent> {
  const jobId = parseGlobalId(globalJobId, 'Job', 'jobId');
  let lastSeq = 0;
  if (after !== undefined) {
    const cursor = decodeEventId(after);
    if (!cursor || cursor.jobId !== jobId) throw ValidationError.field('after', `"${after}" is not the ID of an event of this job`);
    lastSeq = cursor.seq;
  }
  const [job] = await context.service.jobsByIds([jobId]);
  if (!job) throw new NotFoundError('Job', globalJobId);

  // Listen before reading the store, so nothing committed in between is missed.
  const inbox = new EventInbox<JobEvent>(context.subscriptionResyncMs);
  const unsubscribe = context.bus.subscribe(jobId, (event) => inbox.push(event));
  // The job's status as the events sent so far leave it, when one of them said.
  let sentStatus: JobStatus | undefined;
  const emit = (event: JobEvent): JobEvent => {
    lastSeq = event.seq;
    if (event.type === 'JOB_STATUS_CHANGED' && event.data.jobStatus !== undefined) sentStatus = event.data.jobStatus;
    context.loaders = createLoaders(context.service);
    return event;
  };
  const isEnd = (event: JobEvent): boolean =>
    event.type === 'JOB_STATUS_CHANGED' && event.data.jobStatus !== undefined && isFinalJobStatus(event.data.jobStatus);

  try {
    // Sends stored events after lastSeq (up to `upTo`); true once it sent a final status change.
    // The first replay runs through old final statuses: a retried task reopened the job since.
    const catchUp = async function* (options: { upTo?: number; endAtFinal: boolean }): AsyncGenerator<JobEvent, boolean> {
      for (;;) {
        const page = await context.service.eventsAfter(jobId, lastSeq, REPLAY_PAGE);
        for (const event of page) {
          if (options.upTo !== undefined && event.seq > options.upTo) return false;
          yield emit(event);
          if (options.endAtFinal && isEnd(event)) return true;
        }
        if (page.length < REPLAY_PAGE) return false;
      }
    };
    yield* catchUp({ endAtFinal: false });
    // A replay that ends on an open status needs no second look: whatever closes the job comes
    // after it, live or at a resync. Otherwise (a final status, or a resumed stream that sent
    // none) the job says: it is final and everything up to its last event was sent. Skipping the
    // read spares a burst of subscribers a statement each (1,000 clients watching a running job).
    if (sentStatus === undefined || isFinalJobStatus(sentStatus)) {
      const [now] = await context.service.jobsByIds([jobId]);
      if (!now || (isFinalJobStatus(now.status) && lastSeq >= now.eventSeq)) return;
    }

    for (;;) {
      const event = await inbox.next();
      if (event === undefined) {
        if (yield* catchUp({ endAtFinal: true })) return;
        continue;
      }
      if (event.seq <= lastSeq) continue;
      // A gap means the bus dropped or reordered something: the store has it.
      if (event.seq > lastSeq + 1 && (yield* catchUp({ upTo: event.seq - 1, endAtFinal: true }))) return;
      if (event.seq !== lastSeq + 1) continue;
      yield emit(event);
      if (isEnd(event)) return;
    }
  } finally {
    unsubscribe();
    inbox.close();
  }
}
