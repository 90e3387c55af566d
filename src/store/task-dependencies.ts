import { sql, type Transaction } from 'kysely';
import { isFinalTaskStatus, type TaskStatus } from '../domain/state-machine.js';
import type { Database, Db } from './database.js';
import { toJson } from './database.js';
import type { NewJobEvent, TaskStatusChange } from './job-bookkeeping.js';
import type { TaskRecord } from './records.js';
import type { TaskErrorValue } from '../domain/task-values.js';

/**
 * What a task's end does to the tasks that depend on it, inside the transaction that ended it:
 * a success counts down each BLOCKED dependant's pending dependencies and releases those at 0;
 * any other end cancels every BLOCKED task that depends on it, directly or through others, since
 * none of them can run any more.
 *
 * Invariant: a task is past BLOCKED only once all it depends on SUCCEEDED, so the dependants of a
 * task that did not succeed are all BLOCKED or CANCELLED. Dependants are locked in
 * `dependency_rank` order, after the task that ended (which ranks before them): the lock order of
 * every write that locks several of a job's tasks.
 */

export interface DependantsOutcome {
  readonly changes: TaskStatusChange[];
  readonly events: NewJobEvent[];
  /** Dependants that became QUEUED or SCHEDULED: each needs a delivery once this commits. */
  readonly released: TaskRecord[];
}

const NO_OUTCOME: DependantsOutcome = { changes: [], events: [], released: [] };

export async function settleDependants(trx: Transaction<Database>, task: TaskRecord, now: Date): Promise<DependantsOutcome> {
  if (task.dependantCount === 0 || !isFinalTaskStatus(task.status)) return NO_OUTCOME;
  return task.status === 'SUCCEEDED' ? releaseDependants(trx, task, now) : cancelDependants(trx, task, now);
}

async function releaseDependants(trx: Transaction<Database>, task: TaskRecord, now: Date): Promise<DependantsOutcome> {
  const { rows } = await sql<TaskRecord>`
    with dependants as (
      select t.id from tasks t
      join task_dependencies d on d.task_id = t.id
      where d.depends_on = ${task.id} and t.status = 'BLOCKED'
      order by t.dependency_rank
      for update of t
    )
    update tasks set
      pending_dependencies = tasks.pending_dependencies - 1,
      status = case
        when tasks.pending_dependencies > 1 then tasks.status
        when tasks.run_at > ${now} then 'SCHEDULED'
        else 'QUEUED'
      end,
      updated_at = ${now}
    from dependants
    where tasks.id = dependants.id
    returning tasks.*`.execute(trx);
  const released = rows.filter((row) => row.status !== 'BLOCKED').sort(byRank);
  return {
    changes: released.map((row) => ({ from: 'BLOCKED', to: row.status })),
    events: released.map((row) => ({
      type: 'TASK_QUEUED',
      taskId: row.id,
      data: { taskStatus: row.status, message: 'Every task it depends on has succeeded' },
    })),
    released,
  };
}

async function cancelDependants(trx: Transaction<Database>, task: TaskRecord, now: Date): Promise<DependantsOutcome> {
  const error: TaskErrorValue = {
    code: task.status === 'FAILED' ? 'DEPENDENCY_FAILED' : 'DEPENDENCY_CANCELLED',
    message: `Cancelled: task "${task.key ?? task.id}", which it depends on, ended ${task.status}`,
  };
  const { rows } = await sql<TaskRecord>`
    with recursive reach(id) as (
      select task_id from task_dependencies where depends_on = ${task.id}
      union
      select d.task_id from task_dependencies d join reach r on d.depends_on = r.id
    ), blocked as (
      select t.id from tasks t join reach on reach.id = t.id
      where t.status = 'BLOCKED'
      order by t.dependency_rank
      for update of t
    )
    update tasks set status = 'CANCELLED', error = ${toJson(error)}::jsonb, finished_at = ${now}, updated_at = ${now}
    from blocked
    where tasks.id = blocked.id
    returning tasks.*`.execute(trx);
  rows.sort(byRank);
  return {
    changes: rows.map(() => ({ from: 'BLOCKED', to: 'CANCELLED' })),
    events: rows.map((row) => ({ type: 'TASK_CANCELLED', taskId: row.id, data: { taskStatus: 'CANCELLED', message: error.message, error } })),
    released: [],
  };
}

/** RETURNING keeps no order: events go out in rank order, as the rows were locked. */
function byRank(a: TaskRecord, b: TaskRecord): number {
  return a.dependencyRank - b.dependencyRank;
}

export interface DependencyState {
  readonly id: string;
  readonly key: string | null;
  readonly status: TaskStatus;
}

/**
 * The tasks `taskId` depends on, locked FOR SHARE in rank order (before the task itself is
 * locked), so none of them can end while a retry decides between BLOCKED and QUEUED.
 */
export async function lockDependencies(trx: Transaction<Database>, taskId: string): Promise<DependencyState[]> {
  const { rows } = await sql<DependencyState>`
    select t.id, t.key, t.status from tasks t
    join task_dependencies d on d.depends_on = t.id
    where d.task_id = ${taskId}
    order by t.dependency_rank
    for share of t`.execute(trx);
  return rows;
}

/** The results of the tasks `taskId` depends on, by their keys: what its handler reads. */
export async function dependencyResults(db: Db, taskId: string): Promise<Record<string, unknown>> {
  const rows = await db
    .selectFrom('taskDependencies as d')
    .innerJoin('tasks as t', 't.id', 'd.dependsOn')
    .select(['t.key', 't.result'])
    .where('d.taskId', '=', taskId)
    .execute();
  return Object.fromEntries(rows.map((row) => [row.key ?? '', row.result ?? null]));
}
