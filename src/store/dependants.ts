import { sql, type RawBuilder, type Transaction } from 'kysely';
import type { TaskStatus } from '../domain/state-machine.js';
import type { Tenancy } from '../domain/tenancy.js';
import { withinTenancy } from './tenancy-sql.js';
import type { Database, Db } from './database.js';

/**
 * What a task's end does to the tasks that depend on it, as CTEs of the statement that ended it:
 * a success counts down each BLOCKED dependant's pending dependencies and releases those at 0;
 * any other end cancels every BLOCKED task that depends on it, directly or through others, since
 * none of them can run any more. Each fragment reads the ended tasks from a CTE of the statement
 * (named by the caller) with the columns `id, job_id, key, status, dependant_count,
 * dependency_rank`, and adds rows the statement puts into its `changes`.
 *
 * Invariant: a task is past BLOCKED only once all it depends on SUCCEEDED, so the dependants of a
 * task that did not succeed are all BLOCKED or CANCELLED. Dependants are locked in (job,
 * `dependency_rank`) order, after the tasks that ended (which rank before them in their job):
 * the lock order of every write that locks several tasks.
 *
 * Every dependant is locked, whatever its status, and what is done to it is decided from the row
 * as locked, never from the statement's snapshot: a statement that waited for a lock (a
 * completion behind a retry's FOR SHARE of the task) started before the other transaction
 * committed, and its snapshot still shows a dependant that the retry made BLOCKED as CANCELLED.
 */

/**
 * `released`: the BLOCKED dependants of the SUCCEEDED tasks in `ended`, each counted down by as
 * many of its dependencies as succeeded here. Those that reached 0 are QUEUED (SCHEDULED while
 * their run time is still ahead once the locks are held: a retry the statement waited for may
 * have set it to that moment) and need a delivery; the others stay BLOCKED. Columns: the task's
 * `id, job_id, key, status, attempt, queue, priority, run_at, dependency_rank`, and
 * `previous_units`, its progress units before (a BLOCKED task counts 0).
 */
export function releaseDependantsCtes(ended: string, now: Date): RawBuilder<unknown> {
  return sql`dependency_hits as (
      select d.task_id as id, count(*)::int as hits
      from ${sql.id(ended)} e join task_dependencies d on d.depends_on = e.id
      where e.dependant_count > 0 and e.status = 'SUCCEEDED'
      group by d.task_id
    ), dependants_locked as (
      select t.id, t.status, t.pending_dependencies, t.run_at, t.progress_units as previous_units, h.hits from tasks t
      join dependency_hits h on h.id = t.id
      order by t.job_id, t.dependency_rank
      for update of t
    ), released as (
      update tasks set
        pending_dependencies = l.pending_dependencies - l.hits,
        status = case
          when l.pending_dependencies > l.hits then l.status
          when l.run_at > greatest(${now}::timestamptz, clock_timestamp()) then 'SCHEDULED'
          else 'QUEUED'
        end,
        progress_units = case when l.pending_dependencies > l.hits then tasks.progress_units else 0 end,
        updated_at = ${now}
      from dependants_locked l
      where tasks.id = l.id and l.status = 'BLOCKED'
      returning tasks.id, tasks.job_id, tasks.key, tasks.status, tasks.attempt, tasks.queue, tasks.priority, tasks.run_at,
        tasks.dependency_rank, l.previous_units
    )`;
}

/** `released`'s rows that became QUEUED or SCHEDULED, as `changes` rows (TASK_QUEUED). */
export const RELEASED_CHANGES = sql`
  select job_id, id as task_id, dependency_rank as ord, 'BLOCKED'::text as from_status, status as to_status,
    (0 - previous_units)::int8 as units_delta, 'TASK_QUEUED'::text as event_type,
    jsonb_build_object('taskStatus', status, 'message', 'Every task it depends on has succeeded') as event_data
  from released where status <> 'BLOCKED'`;

/**
 * The tasks `released` freed, as JSON on the statement's first row (`released_tasks`): they are
 * few, and the statement's rows are the ended tasks.
 */
export const RELEASED_TASKS_COLUMN = sql`case when row_number() over () = 1 then (
    select json_agg(json_build_object('id', id, 'jobId', job_id, 'key', key, 'status', status, 'attempt', attempt,
      'queue', queue, 'priority', priority, 'runAt', run_at) order by job_id, dependency_rank)
    from released where status <> 'BLOCKED'
  ) end as released_tasks`;

/** A dependant that its last dependency's success made QUEUED or SCHEDULED: it needs a delivery. */
export interface ReleasedTask {
  readonly id: string;
  readonly jobId: string;
  readonly key: string | null;
  readonly status: TaskStatus;
  readonly attempt: number;
  readonly queue: string;
  readonly priority: number;
  readonly runAt: Date;
}

/** What `RELEASED_TASKS_COLUMN` brought back. */
export function releasedTasks(rows: readonly { readonly releasedTasks?: unknown }[]): ReleasedTask[] {
  const tasks = (rows.find((row) => row.releasedTasks != null)?.releasedTasks ?? []) as (Omit<ReleasedTask, 'runAt'> & { runAt: string })[];
  return tasks.map((task) => ({ ...task, runAt: new Date(task.runAt) }));
}

/**
 * `dependants_cancelled`: every BLOCKED task downstream of a task in `ended` that ended FAILED or
 * CANCELLED, CANCELLED with `error { code: DEPENDENCY_FAILED | DEPENDENCY_CANCELLED, message }`
 * naming that task (the one of lowest rank, if several). Columns: `id, job_id, dependency_rank,
 * error, previous_units`. The statement must begin `with recursive`.
 */
export function cancelDependantsCtes(ended: string, now: Date): RawBuilder<unknown> {
  return sql`cascade_reach(id, source_id) as (
      select d.task_id, e.id
      from ${sql.id(ended)} e join task_dependencies d on d.depends_on = e.id
      where e.dependant_count > 0 and e.status in ('FAILED', 'CANCELLED')
      union
      select d.task_id, r.source_id from task_dependencies d join cascade_reach r on d.depends_on = r.id
    ), cascade_locked as (
      select t.id, t.status, t.progress_units as previous_units from tasks t
      where t.id in (select id from cascade_reach)
      order by t.job_id, t.dependency_rank
      for update of t
    ), cascade_source as (
      select distinct on (r.id) r.id, e.status as source_status, coalesce(e.key, e.id::text) as source_name
      from cascade_reach r join ${sql.id(ended)} e on e.id = r.source_id
      order by r.id, e.dependency_rank
    ), dependants_cancelled as (
      update tasks set status = 'CANCELLED',
        error = jsonb_build_object(
          'code', case when c.source_status = 'FAILED' then 'DEPENDENCY_FAILED' else 'DEPENDENCY_CANCELLED' end,
          'message', format('Cancelled: task "%s", which it depends on, ended %s', c.source_name, c.source_status)),
        finished_at = ${now}, progress_units = 0, updated_at = ${now}
      from cascade_locked l join cascade_source c on c.id = l.id
      where tasks.id = l.id and l.status = 'BLOCKED'
      returning tasks.id, tasks.job_id, tasks.dependency_rank, tasks.error, l.previous_units
    )`;
}

/** `dependants_cancelled`'s rows as `changes` rows (TASK_CANCELLED). */
export const CANCELLED_DEPENDANTS_CHANGES = sql`
  select job_id, id as task_id, dependency_rank as ord, 'BLOCKED'::text as from_status, 'CANCELLED'::text as to_status,
    (0 - previous_units)::int8 as units_delta, 'TASK_CANCELLED'::text as event_type,
    jsonb_build_object('taskStatus', 'CANCELLED', 'message', error->>'message', 'error', error) as event_data
  from dependants_cancelled`;

export interface DependencyState {
  readonly id: string;
  readonly key: string | null;
  readonly status: TaskStatus;
}

/**
 * The tasks `taskId` depends on, locked FOR SHARE in rank order (before the task itself is
 * locked), so none of them can end while a retry decides between BLOCKED and QUEUED.
 */
export async function lockDependencies(trx: Transaction<Database>, tenancy: Tenancy, taskId: string): Promise<DependencyState[]> {
  const { rows } = await sql<DependencyState>`
    select t.id, t.key, t.status from tasks t
    join task_dependencies d on d.depends_on = t.id
    where d.task_id = ${taskId} and ${withinTenancy(tenancy, { table: 'tasks', alias: 't' })}
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
