import type { EventBus } from '../../adapters/event-bus.js';
import type { JobEvent } from '../domain/job-event.js';
import { isFinalJobStatus, type JobStatus } from '../domain/state-machine.js';
import { NotFoundError } from '../errors/index.js';
import type { Db } from '../store/database.js';
import { eventsAfter, jobsByIds } from '../store/reads.js';
import { EventInbox } from './event-inbox.js';
import type { Tenancy } from '../domain/tenancy.js';

export interface WatchSource {
  readonly db: Db;
  readonly bus: EventBus;
  /** A watch that heard nothing for this long reads the store, in case the bus lost something. */
  readonly resyncMs: number;
}

/** Stored events are read in pages of this many. */
const REPLAY_PAGE = 1_000;

/**
 * A job's events after `afterSeq` (0: all of them): first those stored, then live ones from the
 * bus, with no gap and no duplicate, until the job reaches a final status. The live events are
 * the very objects the bus handed every listener, so that subscribers sharing a query can share
 * their execution (src/server/shared-event-execution.ts). Throws NotFoundError for a job that
 * does not exist. It ends, its listener and timer gone, once `stopped` fires, even while it
 * waits for an event (see stoppable.ts).
 */
export async function* watchJob(source: WatchSource, tenancy: Tenancy, jobId: string, afterSeq: number, stopped: AbortSignal): AsyncGenerator<JobEvent> {
  const [job] = await jobsByIds(source.db, tenancy, [jobId]);
  if (!job) throw new NotFoundError('Job', jobId);
  let lastSeq = afterSeq;

  // Listen before reading the store, so nothing committed in between is missed.
  const inbox = new EventInbox<JobEvent>(source.resyncMs);
  const unsubscribe = source.bus.subscribe(jobId, (event) => inbox.push(event));
  // A consumer that is done (its client went away) ends the wait below.
  const stop = () => inbox.close();
  stopped.addEventListener('abort', stop, { once: true });
  // The job's status as the events sent so far leave it, when one of them said.
  let sentStatus: JobStatus | undefined;
  const sent = (event: JobEvent): JobEvent => {
    lastSeq = event.seq;
    if (event.type === 'JOB_STATUS_CHANGED' && event.data.jobStatus !== undefined) sentStatus = event.data.jobStatus;
    return event;
  };
  const isEnd = (event: JobEvent): boolean =>
    event.type === 'JOB_STATUS_CHANGED' && event.data.jobStatus !== undefined && isFinalJobStatus(event.data.jobStatus);

  try {
    // Sends stored events after lastSeq (up to `upTo`); true once it sent a final status change.
    // The first replay runs through old final statuses: a retried task reopened the job since.
    const catchUp = async function* (options: { upTo?: number; endAtFinal: boolean }): AsyncGenerator<JobEvent, boolean> {
      for (;;) {
        const page = await eventsAfter(source.db, tenancy, { jobId, afterSeq: lastSeq, limit: REPLAY_PAGE });
        for (const event of page) {
          if (options.upTo !== undefined && event.seq > options.upTo) return false;
          yield sent(event);
          if (options.endAtFinal && isEnd(event)) return true;
        }
        if (page.length < REPLAY_PAGE) return false;
      }
    };
    yield* catchUp({ endAtFinal: false });
    // A replay that ends on an open status needs no second look: whatever closes the job comes
    // after it, live or at a resync. Otherwise (a final status, or a resumed stream that sent
    // none) the job says: it is final and everything up to its last event was sent. Skipping the
    // read spares a burst of watchers a statement each (1,000 clients watching a running job).
    if (sentStatus === undefined || isFinalJobStatus(sentStatus)) {
      const [now] = await jobsByIds(source.db, tenancy, [jobId]);
      if (!now || (isFinalJobStatus(now.status) && lastSeq >= now.eventSeq)) return;
    }

    for (;;) {
      const event = await inbox.next();
      if (stopped.aborted) return;
      if (event === undefined) {
        if (yield* catchUp({ endAtFinal: true })) return;
        continue;
      }
      if (event.seq <= lastSeq) continue;
      // A gap means the bus dropped or reordered something: the store has it.
      if (event.seq > lastSeq + 1 && (yield* catchUp({ upTo: event.seq - 1, endAtFinal: true }))) return;
      if (event.seq !== lastSeq + 1) continue;
      yield sent(event);
      if (isEnd(event)) return;
    }
  } finally {
    stopped.removeEventListener('abort', stop);
    unsubscribe();
    inbox.close();
  }
}
