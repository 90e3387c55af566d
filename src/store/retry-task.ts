import { sql } from 'kysely';
import type { StatementNotify, WrittenEvents } from '../../adapters/event-bus.js';
import { taskStatusesAllowedBefore, type TaskStatus } from '../domain/state-machine.js';
import { InvalidStateError } from '../errors/index.js';
import type { Db } from './database.js';
import type { Tenancy } from '../domain/tenancy.js';
import { withinTenancy } from './tenancy-sql.js';
import { lockDependencies } from './dependants.js';
import { batchEventsColumn, jobBookkeepingCtes } from './job-bookkeeping.js';
import { oneTaskOutcome, type OneTaskRow } from './one-task-command.js';
import type { TaskRecord } from './records.js';

/** FAILED and CANCELLED: the statuses that may go back to BLOCKED, which are those a retry takes a task from. */
const RETRYABLE = taskStatusesAllowedBefore('BLOCKED');

export interface RetriedTask extends WrittenEvents {
  readonly task: TaskRecord;
}

/**
 * A FAILED or CANCELLED task runs again with a fresh attempt budget: its next attempt is
 * `attempt + 1` and it may make `maxAttempts` more of them. Its siblings are left alone. A task
 * with dependencies is QUEUED when all of them have succeeded and BLOCKED while some have not yet
 * ended; if one of them FAILED or was CANCELLED, it is refused: retry that one first.
 *
 * Two statements in a transaction: the dependencies are locked (FOR SHARE, in rank order) before
 * the task, as every write that locks several of a job's tasks locks them, and none of them can
 * end while the retry decides between BLOCKED and QUEUED.
 */
export async function retryTask(db: Db, tenancy: Tenancy, taskId: string, notify?: StatementNotify): Promise<RetriedTask> {
  return db.transaction().execute(async (trx) => {
    const now = new Date();
    const dependencies = await lockDependencies(trx, tenancy, taskId);
    const unusable = dependencies.find((dependency) => dependency.status === 'FAILED' || dependency.status === 'CANCELLED');
    const pending = dependencies.filter((dependency) => dependency.status !== 'SUCCEEDED').length;
    const to: TaskStatus = pending > 0 ? 'BLOCKED' : 'QUEUED';
    const { rows } = await sql<OneTaskRow>`
      with target as (
        select id, status, attempt, progress_units from tasks where id = ${taskId} and ${withinTenancy(tenancy, { table: 'tasks' })} for update
      ), retried as (
        update tasks set status = ${to}, attempt_base = target.attempt, run_at = ${now}, finished_at = null, worker_id = null,
          pending_dependencies = ${pending}, progress_units = 0, parked_at = null, updated_at = ${now}
        from target
        where tasks.id = target.id and target.status = any(${RETRYABLE}::text[]) and ${!unusable}
        returning tasks.*, target.status as previous_status, target.progress_units as previous_units
      ), changes as (
        select job_id, id as task_id, dependency_rank as ord, previous_status as from_status, status as to_status,
          (0 - previous_units)::int8 as units_delta, 'TASK_QUEUED'::text as event_type,
          jsonb_build_object('taskStatus', status, 'message', 'Retried on request') as event_data
        from retried
      ), ${jobBookkeepingCtes(now)}
      select target.status as target_status, retried.*, ${batchEventsColumn(notify)}
      from target left join retried on true`.execute(trx);
    const reason = unusable
      ? `it depends on task "${unusable.key ?? unusable.id}", which is ${unusable.status}: retry that one first`
      : 'only a FAILED or CANCELLED task can be retried';
    return oneTaskOutcome(rows, taskId, notify, (status) => new InvalidStateError(`Task ${taskId} is ${status}: ${reason}`, status));
  });
}
