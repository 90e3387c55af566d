import { sql, type Transaction } from 'kysely';
import { deriveJobStatus, isFinalJobStatus, type TaskStatus, type TaskStatusCounts } from '../domain/state-machine.js';
import type { EventType } from '../domain/event-types.js';
import type { JobProgressSnapshot } from '../domain/job-progress.js';
import { toJson, type Database, type JobEventData } from './database.js';
import { recountTaskProgress } from './job-progress.js';
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
  BLOCKED: 'blockedCount',
  QUEUED: 'queuedCount',
  SCHEDULED: 'scheduledCount',
  RUNNING: 'runningCount',
  SUCCEEDED: 'succeededCount',
  FAILED: 'failedCount',
  CANCELLED: 'cancelledCount',
} as const satisfies Record<TaskStatus, keyof JobRecord>;

export function jobTaskCounts(job: JobRecord): TaskStatusCounts {
  return {
    BLOCKED: job.blockedCount,
    QUEUED: job.queuedCount,
    SCHEDULED: job.scheduledCount,
    RUNNING: job.runningCount,
    SUCCEEDED: job.succeededCount,
    FAILED: job.failedCount,
    CANCELLED: job.cancelledCount,
  };
}

export function jobProgressSnapshot(job: JobRecord): JobProgressSnapshot {
  return { units: Number(job.progressUnits), counts: jobTaskCounts(job) };
}

export function counterColumn(status: TaskStatus): (typeof COUNTER_COLUMN)[TaskStatus] {
  return COUNTER_COLUMN[status];
}

/**
 * Records that some of a job's tasks changed status or progress: moves the job's counters and
 * progress sum, numbers and writes the events, adds JOB_PROGRESS when the job's progress moved,
 * and when the derived job status changes, sets it and adds JOB_STATUS_CHANGED (last, so that a
 * subscriber that stops at the final status has seen the final progress).
 *
 * Call it inside the transaction that changed the tasks, after locking them and writing their
 * rows: the job row is locked last (always tasks first, then the job), which keeps transitions
 * free of deadlocks and gives each job's events their commit order. Every task that changed is
 * named by one of `events`: that is how its progress contribution is recounted.
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
  const touched = [...new Set(events.flatMap((event) => (event.taskId === null ? [] : [event.taskId])))];
  const progressDelta = await recountTaskProgress(trx, jobId, touched);
  const progressMoved = progressDelta !== 0;
  let job = await trx
    .updateTable('jobs')
    .set((eb) => {
      const set: Record<string, unknown> = { updatedAt: new Date() };
      for (const [status, delta] of deltas) {
        if (delta !== 0) set[COUNTER_COLUMN[status]] = eb(COUNTER_COLUMN[status], '+', delta);
      }
      if (progressMoved) set['progressUnits'] = sql`${sql.ref('progressUnits')} + ${progressDelta}`;
      set['eventSeq'] = eb('eventSeq', '+', events.length + (progressMoved ? 1 : 0));
      return set;
    })
    .where('id', '=', jobId)
    .returningAll()
    .executeTakeFirstOrThrow();

  const allEvents = [...events];
  if (progressMoved) allEvents.push({ type: 'JOB_PROGRESS', taskId: null, data: { jobProgress: jobProgressSnapshot(job) } });
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
