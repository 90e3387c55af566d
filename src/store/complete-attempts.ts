import { sql } from 'kysely';
import type { StatementNotify, WrittenEvents } from '../../adapters/event-bus.js';
import type { AttemptRef } from '../domain/attempt-ref.js';
import { taskProgressUnits } from '../domain/progress-roll-up.js';
import { PREPARED } from '../pg/prepared-statement.js';
import type { Db } from './database.js';
import { RELEASED_CHANGES, RELEASED_TASKS_COLUMN, releaseDependantsCtes, releasedTasks, type ReleasedTask } from './dependants.js';
import { batchEvents, batchEventsColumn, jobBookkeepingCtes, writtenEvents } from './job-bookkeeping.js';

/**
 * The completion of attempts: RUNNING this very attempt → SUCCEEDED with its result, for a batch
 * of items in one prepared, autocommitted statement: the tasks, their attempt rows, the release
 * of the dependants they were the last dependency of, and their jobs' bookkeeping. Each item is
 * fenced as if alone; one whose attempt no longer runs (a zombie, a cancelled task) changes
 * nothing. A completed task goes round no more, so nothing of its row is read back: reading every
 * column back was once the larger part of what a worker allocated per task.
 */

export type CompletionItem = AttemptRef & {
  /** The result as the JSON text the worker measured against RESULT_MAX_BYTES. */
  readonly resultJson: string;
  /** When its handler returned: the write comes after, in a batch. */
  readonly finishedAt: Date;
  /** Whether other tasks depend on it (`dependantCount > 0`, fixed at submit): only then is a release looked for. */
  readonly hasDependants: boolean;
};

export interface CompletedBatch extends WrittenEvents {
  /** The tasks the batch completed (SUCCEEDED now), by id: nothing more of their rows is read back. */
  readonly tasks: ReadonlySet<string>;
  /** The dependants the completions released (QUEUED or SCHEDULED): each needs a delivery. */
  readonly released: ReleasedTask[];
}

const SUCCEEDED_UNITS = taskProgressUnits('SUCCEEDED', null);

/** The items as one JSON array, each result spliced in as the text it already is. */
function completionsJson(items: readonly CompletionItem[]): string {
  return `[${items.map((item) => `{"id":${JSON.stringify(item.taskId)},"attempt":${item.attempt},"finished_at":"${item.finishedAt.toISOString()}","result":${item.resultJson}}`).join(',')}]`;
}

/**
 * A batch where no task has dependants (nearly all) leaves the release's CTEs out: they cost
 * about 0.1 ms of a 1 ms completion even when they find nothing, most of it in setting up their
 * plan nodes at every execution. Its lock then also takes only tasks nothing depends on, so a
 * task is never completed without its dependants being released. jsonb_to_recordset reads a
 * JSON null as SQL NULL: a result of null is kept as JSON null.
 */
export async function completeAttempts(db: Db, items: readonly CompletionItem[], notify?: StatementNotify): Promise<CompletedBatch> {
  if (items.length === 0) return { tasks: new Set(), released: [], events: [], sentEvents: [] };
  const now = new Date();
  const releases = items.some((item) => item.hasDependants);
  const { rows } = await sql<{ id: string; batchEvents: unknown; releasedTasks: unknown }>`${PREPARED}
    with locked as (
      select t.id, t.progress_units as previous_units, w.result, w.finished_at from tasks t
      join jsonb_to_recordset(${completionsJson(items)}::jsonb) as w(id uuid, attempt int, finished_at timestamptz, result jsonb) on w.id = t.id
      where t.status = 'RUNNING' and t.attempt = w.attempt ${releases ? sql`` : sql`and t.dependant_count = 0`}
      order by t.job_id, t.dependency_rank
      for update of t
    ), done as (
      update tasks set status = 'SUCCEEDED', result = coalesce(locked.result, 'null'::jsonb), finished_at = locked.finished_at,
        lease_expires_at = null, progress_units = ${SUCCEEDED_UNITS}, updated_at = ${now}
      from locked
      where tasks.id = locked.id
      returning tasks.id, tasks.job_id, tasks.key, tasks.status, tasks.attempt, tasks.dependant_count, tasks.dependency_rank,
        tasks.finished_at, locked.previous_units
    ), attempts as (
      update task_attempts set status = 'SUCCEEDED', error = null, finished_at = done.finished_at
      from done
      where task_attempts.task_id = done.id and task_attempts.number = done.attempt
    )${releases ? sql`, ${releaseDependantsCtes('done', now)}` : sql``}, changes as (
      select job_id, id as task_id, dependency_rank as ord, 'RUNNING'::text as from_status, 'SUCCEEDED'::text as to_status,
        (${SUCCEEDED_UNITS} - previous_units)::int8 as units_delta, 'TASK_SUCCEEDED'::text as event_type,
        jsonb_build_object('attempt', attempt, 'taskStatus', 'SUCCEEDED') as event_data
      from done
      ${releases ? sql`union all ${RELEASED_CHANGES}` : sql``}
    ), ${jobBookkeepingCtes(now)}
    select done.id, ${batchEventsColumn(notify)}${releases ? sql`, ${RELEASED_TASKS_COLUMN}` : sql``} from done`.execute(db);
  return {
    tasks: new Set(rows.map((row) => row.id)),
    released: releasedTasks(rows),
    ...writtenEvents(notify, batchEvents(rows)),
  };
}
