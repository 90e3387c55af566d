import { sql, type Transaction } from 'kysely';
import { deriveJobStatus, isFinalJobStatus, TASK_STATUSES, type TaskStatus, type TaskStatusCounts } from '../domain/state-machine.js';
import type { EventType, JobEvent, JobEventData } from '../domain/job-event.js';
import type { JobProgressSnapshot } from '../domain/job-progress.js';
import { toJson, type Database } from './database.js';
import { recountTaskProgress } from './job-progress.js';
import type { JobRecord } from './records.js';

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
  return Object.fromEntries(TASK_STATUSES.map((status) => [status, job[COUNTER_COLUMN[status]]])) as Record<TaskStatus, number>;
}

export function jobProgressSnapshot(job: JobRecord): JobProgressSnapshot {
  return { units: Number(job.progressUnits), counts: jobTaskCounts(job) };
}

/** What happened to one job's tasks in a transaction. */
export interface JobChanges {
  readonly changes: readonly TaskStatusChange[];
  readonly events: readonly NewJobEvent[];
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
): Promise<{ job: JobRecord; events: JobEvent[] }> {
  const recorded = (await recordJobChanges(trx, new Map([[jobId, { changes, events }]]))).get(jobId);
  if (!recorded) throw new Error(`job ${jobId} is not in the store`);
  return recorded;
}

/**
 * `recordTaskChanges` for many jobs at once, in a constant number of statements: one recount of
 * the touched tasks' progress, one lock of the job rows (in id order, so two batches over the same
 * jobs cannot deadlock), one update of them all and one insert of every event.
 */
export async function recordJobChanges(
  trx: Transaction<Database>,
  byJob: ReadonlyMap<string, JobChanges>,
  /** How much each job's progress moved, when the caller wrote its tasks' units itself: then no recount. */
  knownProgressDeltas?: ReadonlyMap<string, number>,
): Promise<Map<string, { job: JobRecord; events: JobEvent[] }>> {
  const recorded = new Map<string, { job: JobRecord; events: JobEvent[] }>();
  if (byJob.size === 0) return recorded;
  const progressDeltas = knownProgressDeltas ?? (await recountTaskProgress(trx, touchedTasks(byJob)));
  const locked = await trx
    .selectFrom('jobs')
    .selectAll()
    .where(sql<boolean>`id = any(${[...byJob.keys()]}::uuid[])`)
    .orderBy('id')
    // The mode the lot statements lock jobs in: no write changes a job's key. The foreign keys to
    // jobs are checked at commit (migration 0011), so no KEY SHARE of this transaction is held here.
    .forNoKeyUpdate()
    .execute();

  const now = new Date();
  const updated: JobRecord[] = [];
  const pending: { jobId: string; firstSeq: number; events: NewJobEvent[] }[] = [];
  for (const before of locked) {
    const { changes, events } = byJob.get(before.id) ?? { changes: [], events: [] };
    const counts = { ...jobTaskCounts(before) };
    for (const { from, to } of changes) {
      counts[from] -= 1;
      counts[to] += 1;
    }
    const progressDelta = progressDeltas.get(before.id) ?? 0;
    const units = Number(before.progressUnits) + progressDelta;
    const allEvents = [...events];
    if (progressDelta !== 0) allEvents.push({ type: 'JOB_PROGRESS', taskId: null, data: { jobProgress: { units, counts } } });
    const status = deriveJobStatus(counts);
    const statusChanged = status !== before.status;
    if (statusChanged) allEvents.push({ type: 'JOB_STATUS_CHANGED', taskId: null, data: { jobStatus: status } });
    const job: JobRecord = {
      ...before,
      ...counterColumns(counts),
      progressUnits: String(units),
      status,
      finishedAt: statusChanged ? (isFinalJobStatus(status) ? now : null) : before.finishedAt,
      eventSeq: before.eventSeq + allEvents.length,
      updatedAt: now,
    };
    updated.push(job);
    pending.push({ jobId: job.id, firstSeq: before.eventSeq + 1, events: allEvents });
  }
  await writeJobRows(trx, updated);
  const written = await insertManyJobEvents(trx, pending);
  for (const job of updated) recorded.set(job.id, { job, events: written.get(job.id) ?? [] });
  return recorded;
}

/** Every task an event of these changes names: each changed task is named by one. */
function touchedTasks(byJob: ReadonlyMap<string, JobChanges>): string[] {
  return [...new Set([...byJob.values()].flatMap(({ events }) => events.flatMap((event) => (event.taskId === null ? [] : [event.taskId]))))];
}

function counterColumns(counts: TaskStatusCounts): Pick<JobRecord, (typeof COUNTER_COLUMN)[TaskStatus]> {
  return Object.fromEntries(TASK_STATUSES.map((status) => [COUNTER_COLUMN[status], counts[status]])) as Pick<JobRecord, (typeof COUNTER_COLUMN)[TaskStatus]>;
}

/** The jobs' rows as worked out under their locks, in one statement. */
async function writeJobRows(trx: Transaction<Database>, jobs: readonly JobRecord[]): Promise<void> {
  if (jobs.length === 0) return;
  const column = <T>(pick: (job: JobRecord) => T): T[] => jobs.map(pick);
  await sql`
    update jobs set
      blocked_count = v.blocked, queued_count = v.queued, scheduled_count = v.scheduled, running_count = v.running,
      succeeded_count = v.succeeded, failed_count = v.failed, cancelled_count = v.cancelled,
      progress_units = v.units, status = v.status, finished_at = v.finished_at, event_seq = v.event_seq, updated_at = v.updated_at
    from unnest(
      ${column((j) => j.id)}::uuid[], ${column((j) => j.blockedCount)}::int[], ${column((j) => j.queuedCount)}::int[],
      ${column((j) => j.scheduledCount)}::int[], ${column((j) => j.runningCount)}::int[], ${column((j) => j.succeededCount)}::int[],
      ${column((j) => j.failedCount)}::int[], ${column((j) => j.cancelledCount)}::int[], ${column((j) => j.progressUnits)}::int8[],
      ${column((j) => j.status)}::text[], ${column((j) => j.finishedAt)}::timestamptz[], ${column((j) => j.eventSeq)}::int[],
      ${column((j) => j.updatedAt)}::timestamptz[]
    ) as v(id, blocked, queued, scheduled, running, succeeded, failed, cancelled, units, status, finished_at, event_seq, updated_at)
    where jobs.id = v.id`.execute(trx);
}

const EVENT_INSERT_CHUNK = 10_000;

/** Writes the events of several jobs, each numbered from its `firstSeq`; returns them by job, in order. */
async function insertManyJobEvents(
  trx: Transaction<Database>,
  batches: readonly { readonly jobId: string; readonly firstSeq: number; readonly events: readonly NewJobEvent[] }[],
): Promise<Map<string, JobEvent[]>> {
  const rows = batches.flatMap(({ jobId, firstSeq, events }) =>
    events.map((event, i) => ({ jobId, seq: firstSeq + i, taskId: event.taskId, type: event.type, data: toJson(event.data) })),
  );
  const written = new Map<string, JobEvent[]>(batches.map((batch) => [batch.jobId, []]));
  // PostgreSQL takes at most 65,535 bound values in one statement: 5 a row.
  for (let start = 0; start < rows.length; start += EVENT_INSERT_CHUNK) {
    const inserted = await trx.insertInto('jobEvents').values(rows.slice(start, start + EVENT_INSERT_CHUNK)).returningAll().execute();
    for (const event of inserted) written.get(event.jobId)?.push(event);
  }
  for (const events of written.values()) events.sort((a, b) => a.seq - b.seq);
  return written;
}
