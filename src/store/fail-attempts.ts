import { sql } from 'kysely';
import type { StatementNotify, WrittenEvents } from '../../adapters/event-bus.js';
import type { AttemptRef } from '../domain/attempt-ref.js';
import type { FailureOutcome } from '../domain/attempt-failure.js';
import type { TaskErrorValue } from '../domain/task-values.js';
import { PREPARED } from '../pg/prepared-statement.js';
import type { Db } from './database.js';
import { CANCELLED_DEPENDANTS_CHANGES, cancelDependantsCtes } from './dependants.js';
import { batchEvents, batchEventsColumn, jobBookkeepingCtes, writtenEvents } from './job-bookkeeping.js';
import type { TaskRecord } from './records.js';

/**
 * The end of attempts that did not succeed (a handler's failure, a timeout, an expired lease, a
 * hand-back), for a batch of items in one prepared, autocommitted statement: each task goes where
 * its `outcome` says (`failureOutcome`: round again, QUEUED or SCHEDULED, or FAILED), its attempt
 * row ends FAILED, the downstream of a task that FAILED is cancelled, and the jobs' bookkeeping is
 * written. Each item is fenced by task id and attempt: the outcome was worked out from columns
 * that do not change while that attempt runs, so it holds whenever the fence does.
 */

export interface FailureItem extends AttemptRef {
  readonly error: TaskErrorValue;
  readonly outcome: FailureOutcome;
  /** When the attempt ended: the instant `outcome` was worked out from, so a backoff counts from it. */
  readonly finishedAt: Date;
}

export interface FailedBatch extends WrittenEvents {
  /** The tasks whose attempt the batch ended, as they are now, by id. */
  readonly tasks: Map<string, TaskRecord>;
}

type EndedRow = TaskRecord & { readonly previousUnits: unknown; readonly attemptFinishedAt: unknown; readonly batchEvents: unknown };

export async function failAttempts(db: Db, items: readonly FailureItem[], notify?: StatementNotify): Promise<FailedBatch> {
  if (items.length === 0) return { tasks: new Map(), events: [], sentEvents: [] };
  const now = new Date();
  const itemsJson = JSON.stringify(
    items.map((item) => ({
      id: item.taskId,
      attempt: item.attempt,
      status: item.outcome.status,
      run_at: item.outcome.runAt.toISOString(),
      attempt_base: item.outcome.attemptBase,
      error: item.error,
      finished_at: item.finishedAt.toISOString(),
    })),
  );
  const { rows } = await sql<EndedRow>`${PREPARED}
    with recursive locked as (
      select t.id, t.progress_units as previous_units, w.status as next_status, w.run_at as next_run_at, w.attempt_base, w.error, w.finished_at
      from tasks t
      join jsonb_to_recordset(${itemsJson}::jsonb)
        as w(id uuid, attempt int, status text, run_at timestamptz, attempt_base int, error jsonb, finished_at timestamptz) on w.id = t.id
      where t.status = 'RUNNING' and t.attempt = w.attempt
      order by t.job_id, t.dependency_rank
      for update of t
    ), ended as (
      update tasks set status = l.next_status, error = l.error, lease_expires_at = null,
        worker_id = case when l.next_status = 'FAILED' then tasks.worker_id end,
        run_at = case when l.next_status = 'FAILED' then tasks.run_at else l.next_run_at end,
        finished_at = case when l.next_status = 'FAILED' then l.finished_at end,
        attempt_base = l.attempt_base, progress_units = 0, updated_at = ${now}
      from locked l
      where tasks.id = l.id
      returning tasks.*, l.previous_units, l.finished_at as attempt_finished_at
    ), attempts as (
      update task_attempts set status = 'FAILED', error = ended.error, finished_at = ended.attempt_finished_at
      from ended
      where task_attempts.task_id = ended.id and task_attempts.number = ended.attempt
    ), ${cancelDependantsCtes('ended', now)}, changes as (
      select job_id, id as task_id, dependency_rank as ord, 'RUNNING'::text as from_status, status as to_status,
        (0 - previous_units)::int8 as units_delta,
        case when status = 'FAILED' then 'TASK_FAILED' else 'TASK_RETRY_SCHEDULED' end as event_type,
        jsonb_build_object('attempt', attempt, 'error', error, 'message', error->>'message', 'taskStatus', status) as event_data
      from ended
      union all ${CANCELLED_DEPENDANTS_CHANGES}
    ), ${jobBookkeepingCtes(now)}
    select ended.*, ${batchEventsColumn(notify)} from ended`.execute(db);
  const tasks = new Map<string, TaskRecord>();
  for (const { previousUnits: _units, attemptFinishedAt: _at, batchEvents: _events, ...task } of rows) tasks.set(task.id, task);
  return { tasks, ...writtenEvents(notify, batchEvents(rows)) };
}
