import { sql, type RawBuilder } from 'kysely';
import type { StatementNotify, WrittenEvents } from '../../adapters/event-bus.js';
import type { AttemptRef } from '../domain/attempt-ref.js';
import { taskStatusesAllowedBefore, type TaskStatus } from '../domain/state-machine.js';
import { PREPARED } from '../pg/prepared-statement.js';
import type { Db } from './database.js';
import { batchEvents, batchEventsColumn, jobBookkeepingCtes, writtenEvents } from './job-bookkeeping.js';
import type { TaskRecord } from './records.js';
import { notPaused } from './queue-controls.js';
import { chargeRateLimitsCte, rateLimitCtes } from './rate-limits.js';

/**
 * The claim of attempts: QUEUED (or SCHEDULED and due) with `attempt - 1` attempts behind it →
 * RUNNING `attempt`, with a lease, for a batch of refs in one prepared, autocommitted statement
 * (the tasks, their attempt rows and their jobs' bookkeeping). Each ref is fenced as if alone: a
 * stale or duplicate one is left out, the others go ahead; so is one whose queue is paused. A task locked by another writer is
 * waited for and its row read again, so a ref whose task moved on meanwhile is left out. A task
 * that a rate limit refuses is held back: it stays waiting, due at the start of the limit's next
 * window, and the batch says until when (`held`), for its delivery to come again then.
 *
 * On the postgres adapter this statement does not run on its own: its CTEs ride in the delivery
 * claim (src/worker/attempt-claim-companion.ts), so a delivery reaches its handler after one round
 * trip. A statement's fixed cost (executor start, commit, the round trip's system calls) is most
 * of what a write costs on the 2-core bench machine, which is why claims go in batches.
 */

export interface ClaimedBatch extends WrittenEvents {
  /** The claimed tasks, RUNNING, by id. */
  readonly tasks: Map<string, TaskRecord>;
  /** The tasks a rate limit held back, by id: when they are due again. */
  readonly held: Map<string, Date>;
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
  if (refs.length === 0) return { tasks: new Map(), held: new Map(), events: [], sentEvents: [] };
  const now = new Date();
  const refsTable = sql`unnest(${refs.map((ref) => ref.taskId)}::uuid[], ${refs.map((ref) => ref.attempt)}::int[]) as w(id, attempt)`;
  const { rows } = await sql<ClaimedAttemptRow>`${PREPARED}
    with ${claimAttemptCtes(refsTable, now, params)}
    select ${claimedAttemptColumns(params.notify)} from judged
    left join claimed on claimed.id = judged.id
    left join held on held.id = judged.id`.execute(db);
  return claimedBatch(rows, params.notify);
}

/**
 * A row of `claimedAttemptColumns`: the claimed task (or nulls), the instant a held-back task is
 * due again (or null), and on the statement's first row the batch's events.
 */
export type ClaimedAttemptRow = TaskRecord & { readonly previousStatus: TaskStatus; readonly heldTaskId: string | null; readonly heldUntil: Date | null; readonly batchEvents: unknown };

/**
 * What a statement with `claimAttemptCtes` selects, one row per ref, from `claimed` and `held`
 * left-joined to its refs.
 */
export function claimedAttemptColumns(notify: StatementNotify | undefined): RawBuilder<unknown> {
  return sql`claimed.*, held.id as held_task_id, held.run_at as held_until, ${batchEventsColumn(notify)}`;
}

/**
 * The attempt claim as CTEs (`locked`, the rate limits' `limits` and `judged`, `claimed`, `held`,
 * `charged`, `attempts`, `changes` and the jobs' bookkeeping), for the refs in `refsTable`, a
 * FROM item with columns `w(id, attempt)`: the claim's own statement, or a delivery claim's. A
 * claimed task's progress counts 0 before and after (waiting and fresh RUNNING tasks count 0).
 */
export function claimAttemptCtes(refsTable: RawBuilder<unknown>, now: Date, params: AttemptClaimParams): RawBuilder<unknown> {
  // `now` was read before the statement waited for a connection; a task it finds may have been
  // released by a commit after that, so an attempt starts no earlier than the statement itself.
  const startedAt = sql`greatest(${now}::timestamptz, statement_timestamp())`;
  return sql`locked as (
      select t.id, t.status as previous_status, t.queue, t.type, t.job_id, t.dependency_rank from tasks t
      join ${refsTable} on w.id = t.id
      where t.status = any(${CLAIMABLE}::text[]) and t.attempt = w.attempt - 1 and t.run_at <= ${now} and ${notPaused('t')}
      order by t.job_id, t.dependency_rank
      for update of t
    ), ${rateLimitCtes()}, claimed as (
      update tasks set status = 'RUNNING', attempt = tasks.attempt + 1, worker_id = ${params.workerId},
        lease_expires_at = ${new Date(now.getTime() + params.leaseMs)}, started_at = coalesce(tasks.started_at, ${startedAt}),
        error = null, progress = null, updated_at = ${now}
      from judged
      where tasks.id = judged.id and judged.held_until is null
      returning tasks.*, judged.previous_status
    ), held as (
      update tasks set run_at = judged.held_until, updated_at = ${now}
      from judged
      where tasks.id = judged.id and judged.held_until is not null
      returning tasks.id, tasks.attempt, tasks.run_at
    ), ${chargeRateLimitsCte()}, attempts as (
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
  const columns = first ? Object.keys(first).filter((key) => !CLAIM_COLUMNS.has(key) && !isOtherColumn(key)) : [];
  const held = new Map<string, Date>();
  for (const row of rows) {
    if (row['heldTaskId'] != null) held.set(row['heldTaskId'] as string, row['heldUntil'] as Date);
    if (row['id'] == null) continue;
    const task: Record<string, unknown> = {};
    for (const column of columns) task[column] = row[column];
    tasks.set(row['id'] as string, task as unknown as TaskRecord);
  }
  return { tasks, held, ...writtenEvents(notify, events) };
}

/** The columns of `claimedAttemptColumns` that are not the task's. */
const CLAIM_COLUMNS = new Set(['previousStatus', 'heldTaskId', 'heldUntil', 'batchEvents']);
