import { sql, type RawBuilder } from 'kysely';
import type { StatementNotify, WrittenEvents } from '../../adapters/event-bus.js';
import { taskStatusesAllowedBefore } from '../domain/state-machine.js';
import { InvalidStateError, NotFoundError } from '../errors/index.js';
import type { Db } from './database.js';
import type { Tenancy } from '../domain/tenancy.js';
import { jobsByIds } from './reads.js';
import { withinTenancy } from './tenancy-sql.js';
import { CANCELLED_DEPENDANTS_CHANGES, cancelDependantsCtes } from './dependants.js';
import { batchEvents, batchEventsColumn, jobBookkeepingCtes, writtenEvents } from './job-bookkeeping.js';
import { oneTaskOutcome, type OneTaskRow } from './one-task-command.js';
import type { JobRecord, TaskRecord } from './records.js';

/**
 * What the API asks to stop: one task (and the tasks downstream of it), or every unfinished task
 * of a job. Each is one statement: the tasks locked and checked, their running attempts ended,
 * and the jobs' bookkeeping written. A RUNNING task's worker is told by the caller, over the bus.
 */

const CANCELLED_MESSAGE = 'Cancelled on request';
/** BLOCKED, QUEUED, SCHEDULED and RUNNING: what a task may be cancelled from. */
const CANCELLABLE = taskStatusesAllowedBefore('CANCELLED');

export interface CancelledTask extends WrittenEvents {
  readonly task: TaskRecord;
}

export interface CancelledJob extends WrittenEvents {
  readonly job: JobRecord;
  /** The tasks it cancelled: those that were RUNNING are to be aborted where they run. */
  readonly cancelledTaskIds: string[];
}

/**
 * `cancelled`: the tasks of `target` (a CTE of locked rows with `id, status, progress_units`)
 * that may still be cancelled, CANCELLED now, with `previous_status` and `previous_units`; their
 * running attempts end CANCELLED.
 */
function cancelCtes(now: Date): RawBuilder<unknown> {
  return sql`cancelled as (
      update tasks set status = 'CANCELLED', finished_at = ${now}, lease_expires_at = null, progress_units = 0, updated_at = ${now}
      from target
      where tasks.id = target.id and target.status = any(${CANCELLABLE}::text[])
      returning tasks.*, target.status as previous_status, target.progress_units as previous_units
    ), attempts as (
      update task_attempts set status = 'CANCELLED', error = null, finished_at = ${now}
      from cancelled
      where cancelled.previous_status = 'RUNNING' and task_attempts.task_id = cancelled.id and task_attempts.number = cancelled.attempt
    )`;
}

const CANCELLED_CHANGES = sql`
  select job_id, id as task_id, dependency_rank as ord, previous_status as from_status, 'CANCELLED'::text as to_status,
    (0 - previous_units)::int8 as units_delta, 'TASK_CANCELLED'::text as event_type,
    jsonb_build_object('taskStatus', 'CANCELLED', 'message', ${CANCELLED_MESSAGE}::text) as event_data
  from cancelled`;

/** Cancels a task that has not finished, and every BLOCKED task downstream of it. */
export async function cancelTask(db: Db, tenancy: Tenancy, taskId: string, notify?: StatementNotify): Promise<CancelledTask> {
  const now = new Date();
  const { rows } = await sql<OneTaskRow>`
    with recursive target as (
      select id, status, progress_units from tasks where id = ${taskId} and ${withinTenancy(tenancy, { table: 'tasks' })} for update
    ), ${cancelCtes(now)}, ${cancelDependantsCtes('cancelled', now)}, changes as (
      ${CANCELLED_CHANGES}
      union all ${CANCELLED_DEPENDANTS_CHANGES}
    ), ${jobBookkeepingCtes(now)}
    select target.status as target_status, cancelled.*, ${batchEventsColumn(notify)}
    from target left join cancelled on true`.execute(db);
  return oneTaskOutcome(rows, taskId, notify, (status) => new InvalidStateError(`Task ${taskId} is ${status} and can no longer be cancelled`, status));
}

/**
 * Cancels every unfinished task of the job, locked in rank order like every write of several of
 * a job's tasks; finished ones keep their outcome. No cascade is needed: whatever depends on a
 * cancelled task is unfinished, and cancelled with it.
 */
export async function cancelJob(db: Db, tenancy: Tenancy, jobId: string, notify?: StatementNotify): Promise<CancelledJob> {
  const now = new Date();
  const { rows } = await sql<{ id: string; batchEvents: unknown }>`
    with target as (
      select id, status, progress_units from tasks
      where job_id = ${jobId} and ${withinTenancy(tenancy, { table: 'tasks' })} and status = any(${CANCELLABLE}::text[])
      order by dependency_rank
      for update
    ), ${cancelCtes(now)}, changes as (${CANCELLED_CHANGES}), ${jobBookkeepingCtes(now)}
    select cancelled.id, ${batchEventsColumn(notify)} from cancelled`.execute(db);
  const [job] = await jobsByIds(db, tenancy, [jobId]);
  if (!job) throw new NotFoundError('Job', jobId);
  if (rows.length === 0) throw new InvalidStateError(`Job ${jobId} is ${job.status}: it has no unfinished task to cancel`, job.status);
  return { job, cancelledTaskIds: rows.map((row) => row.id), ...writtenEvents(notify, batchEvents(rows)) };
}
