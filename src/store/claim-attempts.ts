import { sql, type RawBuilder } from 'kysely';
import type { StatementNotify, WrittenEvents } from '../../adapters/event-bus.js';
import type { AttemptRef } from '../domain/attempt-ref.js';
import { taskStatusesAllowedBefore, type TaskStatus } from '../domain/state-machine.js';
import { PREPARED } from '../pg/prepared-statement.js';
import type { Db } from './database.js';
import { batchEvents, batchEventsColumn, jobBookkeepingCtes, writtenEvents } from './job-bookkeeping.js';
import type { TaskRecord } from './records.js';
import { notPaused } from './queue-controls.js';

/**
 * The claim of attempts: QUEUED (or SCHEDULED and due) with `attempt - 1` attempts behind it →
 * RUNNING `attempt`, with a lease, for a batch of refs in one prepared, autocommitted statement
 * (the tasks, their attempt rows and their jobs' bookkeeping). Each ref is fenced as if alone: a
 * stale or duplicate one is left out, the others go ahead; so is one whose queue is paused. A task locked by another writer is
 * waited for and its row read again, so a ref whose task moved on meanwhile is left out.
 *
 * On the postgres adapter this statement does not run on its own: its CTEs ride in the delivery
 * claim (src/worker/attempt-claim-companion.ts), so a delivery reaches its handler after one round
 * trip. A statement's fixed cost (executor start, commit, the round trip's system calls) is most
 * of what a write costs on the 2-core bench machine, which is why claims go in batches.
 */

export interface ClaimedBatch extends WrittenEvents {
  /** The claimed tasks, RUNNING, by id. */
  readonly tasks: Map<string, TaskRecord>;
}

export interface AttemptClaimParams {
  readonly workerId: string;
  readonly leaseMs: number;
  /** The event bus's, when the statement is to send the batch's events itself (see `batchEventsColumn`). */
  readonly notify?: StatementNotify | undefined;
}

/** The statuses a claim takes a task from (QUEUED, SCHEDULED), from the state machine. */
const CLAIMABLE = taskStatusesAllowedBefore('RUNNING');

export async function claimAttempts(db: Db, refs: readonly AttemptRef[], params: AttemptClaimParams): Promise<ClaimedBatch> {
  if (refs.length === 0) return { tasks: new Map(), events: [], sentEvents: [] };
  const now = new Date();
  const refsTable = sql`unnest(${refs.map((ref) => ref.taskId)}::uuid[], ${refs.map((ref) => ref.attempt)}::int[]) as w(id, attempt)`;
  const { rows } = await sql<ClaimedAttemptRow>`${PREPARED}
    with ${claimAttemptCtes(refsTable, now, params)}
    select ${claimedAttemptColumns(params.notify)} from claimed`.execute(db);
  return claimedBatch(rows, params.notify);
}

/** A row of `claimedAttemptColumns`: the claimed task, and on the statement's first row the batch's events. */
export type ClaimedAttemptRow = TaskRecord & { readonly previousStatus: TaskStatus; readonly batchEvents: unknown };

/** What a statement ending in `claimAttemptCtes` selects from `claimed`, one row per claimed task. */
export function claimedAttemptColumns(notify: StatementNotify | undefined): RawBuilder<unknown> {
  return sql`claimed.*, ${batchEventsColumn(notify)}`;
}

/**
 * The attempt claim as CTEs (`locked`, `claimed`, `attempts`, `changes` and the jobs'
 * bookkeeping), for the refs in `refsTable`, a FROM item with columns `w(id, attempt)`: the
 * claim's own statement, or a delivery claim's. A claimed task's progress counts 0 before and
 * after (waiting and fresh RUNNING tasks count 0).
 */
export function claimAttemptCtes(refsTable: RawBuilder<unknown>, now: Date, params: AttemptClaimParams): RawBuilder<unknown> {
  // `now` was read before the statement waited for a connection; a task it finds may have been
  // released by a commit after that, so an attempt starts no earlier than the statement itself.
  const startedAt = sql`greatest(${now}::timestamptz, statement_timestamp())`;
  return sql`locked as (
      select t.id, t.status as previous_status from tasks t
      join ${refsTable} on w.id = t.id
      where t.status = any(${CLAIMABLE}::text[]) and t.attempt = w.attempt - 1 and t.run_at <= ${now} and ${notPaused('t')}
      order by t.job_id, t.dependency_rank
      for update of t
    ), claimed as (
      update tasks set status = 'RUNNING', attempt = tasks.attempt + 1, worker_id = ${params.workerId},
        lease_expires_at = ${new Date(now.getTime() + params.leaseMs)}, started_at = coalesce(tasks.started_at, ${startedAt}),
        error = null, progress = null, updated_at = ${now}
      from locked
      where tasks.id = locked.id
      returning tasks.*, locked.previous_status
    ), attempts as (
      insert into task_attempts (task_id, number, status, worker_id, started_at)
      select id, attempt, 'RUNNING', ${params.workerId}, ${startedAt} from claimed
    ), changes as (
      select job_id, id as task_id, dependency_rank as ord, previous_status as from_status, 'RUNNING'::text as to_status,
        0::int8 as units_delta, 'TASK_STARTED'::text as event_type,
        jsonb_build_object('attempt', attempt, 'taskStatus', 'RUNNING') as event_data
      from claimed
    ), ${jobBookkeepingCtes(now)}`;
}

/**
 * The batch that `claimedAttemptColumns(notify)` rows describe (rows with no task, of a left join,
 * are skipped); `isOtherColumn` names the statement's columns that are not the task's (a delivery
 * claim's own).
 */
export function claimedBatch(
  rows: readonly Readonly<Record<string, unknown>>[],
  notify: StatementNotify | undefined,
  isOtherColumn: (key: string) => boolean = () => false,
): ClaimedBatch {
  const events = batchEvents(rows);
  const tasks = new Map<string, TaskRecord>();
  // Every row has the statement's columns: the task's are picked once, then copied row by row.
  const first = rows[0];
  const columns = first ? Object.keys(first).filter((key) => key !== 'previousStatus' && key !== 'batchEvents' && !isOtherColumn(key)) : [];
  for (const row of rows) {
    if (row['id'] == null) continue;
    const task: Record<string, unknown> = {};
    for (const column of columns) task[column] = row[column];
    tasks.set(row['id'] as string, task as unknown as TaskRecord);
  }
  return { tasks, ...writtenEvents(notify, events) };
}
