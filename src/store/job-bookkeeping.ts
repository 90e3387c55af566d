import type { Transaction } from 'kysely';
import { deriveJobStatus, isFinalJobStatus, type TaskStatus, type TaskStatusCounts } from '../domain/state-machine.js';
import type { EventType } from '../domain/event-types.js';
import { toJson, type Database, type JobEventData } from './database.js';
import type { JobEventRecord, JobRecord } from './records.js';

export interface TaskStatusChange {
  readonly from: TaskStatus;
  readonly to: TaskStatus;
}

export interface NewJobEvent {
  readonly type: EventType;
  readonly taskId: string | null;
  readonly data: JobEventData;
}

const COUNTER_COLUMN = {
  QUEUED: 'queuedCount',
  SCHEDULED: 'scheduledCount',
  RUNNING: 'runningCount',
  SUCCEEDED: 'succeededCount',
  FAILED: 'failedCount',
  CANCELLED: 'cancelledCount',
} as const satisfies Record<TaskStatus, keyof JobRecord>;

export function jobTaskCounts(job: JobRecord): TaskStatusCounts {
  return {
    QUEUED: job.queuedCount,
    SCHEDULED: job.scheduledCount,
    RUNNING: job.runningCount,
    SUCCEEDED: job.succeededCount,
    FAILED: job.failedCount,
    CANCELLED: job.cancelledCount,
  };
}

export function counterColumn(status: TaskStatus): (typeof COUNTER_COLUMN)[TaskStatus] {
  return COUNTER_COLUMN[status];
}

/**
 * Records that some of a job's tasks changed status: moves the job's counters, numbers and writes
 * the events, and when the derived job status changes, sets it and adds JOB_STATUS_CHANGED.
 *
 * Call it inside the transaction that changed the tasks, after locking them: the job row is
 * locked last (always tasks first, then the job), which keeps transitions free of deadlocks and
 * gives each job's events their commit order.
 */
export async function recordTaskChanges(
  trx: Transaction<Database>,
  jobId: string,
  changes: readonly TaskStatusChange[],
  events: readonly NewJobEvent[],
): Promise<{ job: JobRecord; events: JobEventRecord[] }> {
  const deltas = new Map<TaskStatus, number>();
  for (const { from, to } of changes) {
    if (from === to) continue;
    deltas.set(from, (deltas.get(from) ?? 0) - 1);
    deltas.set(to, (deltas.get(to) ?? 0) + 1);
  }
  let job = await trx
    .updateTable('jobs')
    .set((eb) => {
      const set: Record<string, unknown> = { updatedAt: new Date() };
      for (const [status, delta] of deltas) {
        if (delta !== 0) set[COUNTER_COLUMN[status]] = eb(COUNTER_COLUMN[status], '+', delta);
      }
      set['eventSeq'] = eb('eventSeq', '+', events.length);
      return set;
    })
    .where('id', '=', jobId)
    .returningAll()
    .executeTakeFirstOrThrow();

  const allEvents = [...events];
  const status = deriveJobStatus(jobTaskCounts(job));
  if (status !== job.status) {
    allEvents.push({ type: 'JOB_STATUS_CHANGED', taskId: null, data: { jobStatus: status } });
    job = await trx
      .updateTable('jobs')
      .set((eb) => ({
        status,
        finishedAt: isFinalJobStatus(status) ? new Date() : null,
        eventSeq: eb('eventSeq', '+', 1),
      }))
      .where('id', '=', jobId)
      .returningAll()
      .executeTakeFirstOrThrow();
  }
  const firstSeq = job.eventSeq - allEvents.length + 1;
  const written = await insertJobEvents(trx, jobId, firstSeq, allEvents);
  return { job, events: written };
}

const EVENT_INSERT_CHUNK = 10_000;

export async function insertJobEvents(
  trx: Transaction<Database>,
  jobId: string,
  firstSeq: number,
  events: readonly NewJobEvent[],
): Promise<JobEventRecord[]> {
  const written: JobEventRecord[] = [];
  // PostgreSQL takes at most 65,535 bound values in one statement: 5 a row.
  for (let start = 0; start < events.length; start += EVENT_INSERT_CHUNK) {
    const rows = await trx
      .insertInto('jobEvents')
      .values(
        events.slice(start, start + EVENT_INSERT_CHUNK).map((event, i) => ({
          jobId,
          seq: firstSeq + start + i,
          taskId: event.taskId,
          type: event.type,
          data: toJson(event.data),
        })),
      )
      .returningAll()
      .execute();
    written.push(...rows);
  }
  return written;
}
