import { sql, type RawBuilder } from 'kysely';
import type { StatementNotify, WrittenEvents } from '../../adapters/event-bus.js';
import type { AttemptRef } from '../domain/attempt-ref.js';
import { taskStatusesAllowedBefore, type TaskStatus } from '../domain/state-machine.js';
import { PREPARED } from '../pg/prepared-statement.js';
import type { Db } from './database.js';
import { batchEvents, batchEventsColumn, jobBookkeepingCtes, writtenEvents } from './job-bookkeeping.js';
import type { TaskRecord } from './records.js';
import { notPaused } from './queue-controls.js';
import { chargeRateLimitsCte, rateLimitsCte, rateLimitWindowsCte } from './rate-limits.js';
import { concurrencyRoomsCte } from './concurrency-keys.js';

/**
 * The claim of attempts: QUEUED (or SCHEDULED and due) with `attempt - 1` attempts behind it →
 * RUNNING `attempt`, with a lease, for a batch of refs in one prepared, autocommitted statement
 * (the tasks, their attempt rows and their jobs' bookkeeping). Each ref is fenced as if alone: a
 * stale or duplicate one is left out, the others go ahead; so is one whose queue is paused. A task locked by another writer is
 * waited for and its row read again, so a ref whose task moved on meanwhile is left out. A task
 * that a rate limit refuses is held back: it stays waiting, due at the start of the limit's next
 * window, and the batch says until when (`held`), for its delivery to come again then. A task
 * whose concurrency key has no room is parked: QUEUED without a delivery, until a worker wakes it
 * (src/store/concurrency-keys.ts). Each limit admits the statement's tasks in rank order, up to
 * what it has left.
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
 * The attempt claim as CTEs (`locked`, the rate limits' `limits`, the keys' `rooms`, `clock`, `windows`, `judged`,
 * `claimed`, `held`, `charged`, `attempts`, `changes` and the jobs' bookkeeping), for the refs in `refsTable`, a
 * FROM item with columns `w(id, attempt)`: the claim's own statement, or a delivery claim's. A
 * claimed task's progress counts 0 before and after (waiting and fresh RUNNING tasks count 0).
 */
export function claimAttemptCtes(refsTable: RawBuilder<unknown>, now: Date, params: AttemptClaimParams): RawBuilder<unknown> {
  return sql`locked as (
      select t.id, t.status as previous_status, t.queue, t.type, t.job_id, t.dependency_rank, t.tenant_id, t.concurrency_key, t.concurrency_limit
      from tasks t
      join ${refsTable} on w.id = t.id
      where t.status = any(${CLAIMABLE}::text[]) and t.attempt = w.attempt - 1 and t.run_at <= ${now} and ${notPaused('t')}
      order by t.job_id, t.dependency_rank
      for update of t
    ), ${rateLimitsCte()}, ${concurrencyRoomsCte()}, clock as (
      -- The attempts' start, once every lock is held (tasks, limits, keys): a slot that a commit
      -- freed while this claim waited is never counted as used by one that started before it.
      -- Never before \`now\`, read before the statement waited for a connection.
      select greatest(${now}::timestamptz, clock_timestamp()) as at
      where (select count(*) from rooms) >= 0 and (select count(*) from limits) >= 0
    ), ${rateLimitWindowsCte()}, judged as (
      -- held_until: null when admitted; infinity when parked for its key; else the next window of the rate limits that refused it.
      select k.id, k.previous_status,
        case when k.key_rank > r.room then 'infinity'::timestamptz else greatest(
          case when k.queue_rank > q.max_starts - q.used then q.window_start + make_interval(secs => q.interval_ms / 1000.0) end,
          case when k.type_rank > y.max_starts - y.used then y.window_start + make_interval(secs => y.interval_ms / 1000.0) end
        ) end as held_until
      from (
        select task.*,
          row_number() over (partition by queue order by job_id, dependency_rank, id) as queue_rank,
          row_number() over (partition by type order by job_id, dependency_rank, id) as type_rank,
          row_number() over (partition by tenant_id, concurrency_key order by job_id, dependency_rank, id) as key_rank
        -- One row per task: two refs of one task (a duplicate delivery) must not be judged apart,
        -- one claimed and one held, which would update its row twice.
        from (select distinct on (id) * from locked order by id) task
      ) k
      left join windows q on q.scope = 'QUEUE' and q.name = k.queue
      left join windows y on y.scope = 'TYPE' and y.name = k.type
      left join rooms r on r.tenant = k.tenant_id and r.key = k.concurrency_key
    ), claimed as (
      update tasks set status = 'RUNNING', attempt = tasks.attempt + 1, worker_id = ${params.workerId},
        lease_expires_at = ${new Date(now.getTime() + params.leaseMs)}, started_at = coalesce(tasks.started_at, clock.at),
        error = null, progress = null, parked_at = null, updated_at = ${now}
      from judged, clock
      where tasks.id = judged.id and judged.held_until is null
      returning tasks.*, judged.previous_status
    ), held as (
      update tasks set
        run_at = case when judged.held_until = 'infinity' then tasks.run_at else judged.held_until end,
        parked_at = case when judged.held_until = 'infinity' then ${now}::timestamptz end,
        updated_at = ${now}
      from judged
      where tasks.id = judged.id and judged.held_until is not null
      returning tasks.id, tasks.attempt, case when tasks.parked_at is null then tasks.run_at end as run_at
    ), ${chargeRateLimitsCte()}, attempts as (
      insert into task_attempts (task_id, number, status, worker_id, started_at)
      select claimed.id, claimed.attempt, 'RUNNING', ${params.workerId}, clock.at from claimed, clock
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
    // A parked task (no instant) is not held: its delivery is done with, and a worker wakes it.
    if (row['heldTaskId'] != null && row['heldUntil'] != null) held.set(row['heldTaskId'] as string, row['heldUntil'] as Date);
    if (row['id'] == null) continue;
    const task: Record<string, unknown> = {};
    for (const column of columns) task[column] = row[column];
    tasks.set(row['id'] as string, task as unknown as TaskRecord);
  }
  return { tasks, held, ...writtenEvents(notify, events) };
}

/** The columns of `claimedAttemptColumns` that are not the task's. */
const CLAIM_COLUMNS = new Set(['previousStatus', 'heldTaskId', 'heldUntil', 'batchEvents']);
