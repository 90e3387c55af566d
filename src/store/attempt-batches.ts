import { sql, type RawBuilder } from 'kysely';
import { taskProgressUnits } from '../domain/job-progress.js';
import { taskStatusesAllowedBefore, type TaskStatus } from '../domain/state-machine.js';
import type { StatementNotify } from '../../adapters/event-bus.js';
import { type Db } from './database.js';
import { jobLotCtes, lotEvents, lotEventsColumn } from './job-lot-sql.js';
import { recordJobChanges, type JobChanges, type NewJobEvent, type TaskStatusChange } from './job-bookkeeping.js';
import type { TaskRecord } from './records.js';
import { settleDependants } from './task-dependencies.js';
import type { JobEvent } from '../domain/job-event.js';
import type { AttemptRef } from '../domain/attempt-ref.js';
import { PREPARED } from '../pg/prepared-statement.js';

/**
 * The two writes every attempt makes, for many attempts in one transaction: a worker gathers the
 * claims (and the completions) that come due together and writes each lot at once. Each attempt
 * is fenced as when written alone (by task id and attempt number): one that is stale or a
 * duplicate is left out, the others go ahead.
 *
 * Why lots: on this project's 2-core test machine a statement costs roughly 0.2–0.7 ms on
 * loopback under load (a quarter of the worker's CPU went to the round trips' system calls), and
 * a claim and a completion written one task at a time took about 22 statements a task. The
 * bench's `process` rows before lots: 176 tasks/s at concurrency 10 and 232 at 50 (postgres
 * adapter); with lots of one transaction each (BEGIN, the tasks' statement, the jobs' lock,
 * update and events, COMMIT): 359 and 1,063 (`npm run bench -- --rounds 3 --jobs 2000`, medians).
 * Now a claim lot, and a completion lot of tasks nothing depends on, is one autocommitted
 * statement whatever its size: the tasks, their attempt rows and their jobs' bookkeeping
 * (`jobLotCtes`), prepared once per connection (planning it cost more than running it). On the
 * postgres adapter the claim lot is not a statement of its own: it rides in the delivery claim
 * (`claimAttemptCtes`, src/worker/attempt-claim-companion.ts). With the PostgreSQL event bus a
 * lot's statement also sends its events (`notify`, see `lotEventsColumn`), where the worker sent
 * a NOTIFY statement after each: the bench's process workload on the postgres adapter, medians
 * of 3 interleaved runs before → after, went 201 → 225 jobs/s at concurrency 1 (1,000 jobs),
 * 779 → 926 at 10 (3,000) and 1,626 → 1,760 at 50 (4,000). The figures since are in
 * bench/RESULTS.md.
 *
 * Locks are taken in the order every writer takes them: the tasks by (job, rank), then the jobs
 * by id. A completion's dependants (released or cancelled) are settled task by task in the same
 * (job, rank) order, before the jobs are locked.
 */

/** What a lot wrote to the event log, each job's events in seq order. */
export interface LotEvents {
  /** For the bus to publish, now that they are committed. */
  readonly events: JobEvent[];
  /** Those the lot's statement sent to the other processes itself (`notify`): for `publishSent`. */
  readonly sentEvents: JobEvent[];
}

export interface ClaimedLot extends LotEvents {
  /** The claimed tasks, RUNNING, by id. */
  readonly tasks: Map<string, TaskRecord>;
}

export interface CompletedLot extends LotEvents {
  /**
   * The completed tasks (SUCCEEDED: they go round no more) by id, each with the dependants it
   * released (they need deliveries). Not their rows: nothing acts on a finished task's columns,
   * and reading every column back was the larger part of what a worker parsed and allocated per
   * task at concurrency 50.
   */
  readonly tasks: Map<string, { readonly released: TaskRecord[] }>;
}

/** A statement's events, by who sends them: the statement itself (with `notify`), or the bus. */
export function whoPublishes(notify: StatementNotify | undefined, events: JobEvent[]): LotEvents {
  return notify ? { events: [], sentEvents: events } : { events, sentEvents: [] };
}

/** The statuses a claim takes a task from (QUEUED, SCHEDULED), from the state machine. */
const CLAIMABLE = taskStatusesAllowedBefore('RUNNING');
const SUCCEEDED_UNITS = taskProgressUnits('SUCCEEDED', null);

/** Adds each task's changes and events to its job's. */
function collectByJob(entries: readonly { readonly jobId: string; readonly change: TaskStatusChange; readonly events: readonly NewJobEvent[] }[]): Map<string, JobChanges> {
  const byJob = new Map<string, { changes: TaskStatusChange[]; events: NewJobEvent[] }>();
  for (const { jobId, change, events } of entries) {
    const job = byJob.get(jobId) ?? { changes: [], events: [] };
    job.changes.push(change);
    job.events.push(...events);
    byJob.set(jobId, job);
  }
  return byJob;
}

/** Every event the lot wrote, each job's in seq order: what the bus publishes once it committed. */
function allEvents(recorded: Map<string, { events: JobEvent[] }>): JobEvent[] {
  return [...recorded.values()].flatMap(({ events }) => events);
}

/**
 * QUEUED (or SCHEDULED and due) with `attempt - 1` attempts behind it → RUNNING `attempt`, with a
 * lease: for every ref that still matches its task. Returns the claimed ones by task id.
 *
 * One statement locks, fences, updates and adds the attempt rows. A task locked by another
 * writer is waited for and its row read again, so a ref whose task moved on meanwhile is left out.
 * A claimed task's progress counts 0 before and after (waiting and fresh RUNNING tasks count 0).
 */
export async function claimAttempts(db: Db, refs: readonly AttemptRef[], params: AttemptClaimParams): Promise<ClaimedLot> {
  if (refs.length === 0) return { tasks: new Map(), events: [], sentEvents: [] };
  const now = new Date();
  const refsTable = sql`unnest(${refs.map((ref) => ref.taskId)}::uuid[], ${refs.map((ref) => ref.attempt)}::int[]) as w(id, attempt)`;
  const { rows } = await sql<ClaimedAttemptRow>`${PREPARED}
    with ${claimAttemptCtes(refsTable, now, params)}
    select ${claimedAttemptColumns(params.notify)} from claimed`.execute(db);
  return claimedLot(rows, params.notify);
}

export interface AttemptClaimParams {
  readonly workerId: string;
  readonly leaseMs: number;
  /** The event bus's, when the statement is to send the lot's events itself (see `lotEventsColumn`). */
  readonly notify?: StatementNotify | undefined;
}

/** A row of `claimedAttemptColumns`: the claimed task, and on the statement's first row the lot's events. */
export type ClaimedAttemptRow = TaskRecord & { readonly previousStatus: TaskStatus; readonly lotEvents: unknown };

/** What a statement ending in `claimAttemptCtes` selects from `claimed`, one row per claimed task. */
export function claimedAttemptColumns(notify: StatementNotify | undefined): RawBuilder<unknown> {
  return sql`claimed.*, ${lotEventsColumn(notify)}`;
}

/**
 * The attempt claim as CTEs (`locked`, `claimed`, `attempts`, `changes` and the jobs'
 * bookkeeping), for the refs in `refsTable`, a FROM item with columns `w(id, attempt)`: the
 * claim's own statement, or a delivery claim's (the postgres adapter claims the deliveries and
 * their attempts in one statement, see src/worker/attempt-claim-companion.ts).
 */
export function claimAttemptCtes(refsTable: RawBuilder<unknown>, now: Date, params: AttemptClaimParams): RawBuilder<unknown> {
  return sql`locked as (
      select t.id, t.status as previous_status from tasks t
      join ${refsTable} on w.id = t.id
      where t.status = any(${CLAIMABLE}::text[]) and t.attempt = w.attempt - 1 and t.run_at <= ${now}
      order by t.job_id, t.dependency_rank
      for update of t
    ), claimed as (
      update tasks set status = 'RUNNING', attempt = tasks.attempt + 1, worker_id = ${params.workerId},
        lease_expires_at = ${new Date(now.getTime() + params.leaseMs)}, started_at = coalesce(tasks.started_at, ${now}),
        error = null, progress = null, updated_at = ${now}
      from locked
      where tasks.id = locked.id
      returning tasks.*, locked.previous_status
    ), attempts as (
      insert into task_attempts (task_id, number, status, worker_id, started_at)
      select id, attempt, 'RUNNING', ${params.workerId}, ${now} from claimed
    ), changes as (
      select job_id, id as task_id, dependency_rank as ord, previous_status as from_status, 'RUNNING'::text as to_status,
        0::int8 as units_delta, 'TASK_STARTED'::text as event_type,
        jsonb_build_object('attempt', attempt, 'taskStatus', 'RUNNING') as event_data
      from claimed
    ), ${jobLotCtes(now)}`;
}

/**
 * The lot that `claimedAttemptColumns(notify)` rows describe (rows with no task, of a left join,
 * are skipped); `isOtherColumn` names the statement's columns that are not the task's (a delivery
 * claim's own).
 */
export function claimedLot(
  rows: readonly Readonly<Record<string, unknown>>[],
  notify: StatementNotify | undefined,
  isOtherColumn: (key: string) => boolean = () => false,
): ClaimedLot {
  const events = lotEvents(rows.filter((row) => row['lotEvents'] != null));
  const tasks = new Map<string, TaskRecord>();
  // Every row has the statement's columns: the task's are picked once, then copied row by row.
  const first = rows[0];
  const columns = first ? Object.keys(first).filter((key) => key !== 'previousStatus' && key !== 'lotEvents' && !isOtherColumn(key)) : [];
  for (const row of rows) {
    if (row['id'] == null) continue;
    const task: Record<string, unknown> = {};
    for (const column of columns) task[column] = row[column];
    tasks.set(row['id'] as string, task as unknown as TaskRecord);
  }
  return { tasks, ...whoPublishes(notify, events) };
}

type CompletionItem = AttemptRef & { readonly resultJson: string };

/** The lot's items as one JSON array, each result as the caller already serialised it (the worker checked its size on that text). */
function completionsJson(items: readonly CompletionItem[]): string {
  return `[${items.map((item) => `{"id":${JSON.stringify(item.taskId)},"attempt":${item.attempt},"result":${item.resultJson}}`).join(',')}]`;
}

/**
 * `locked`, `done` and `attempts`: locks and fences the items' tasks (RUNNING this very attempt;
 * with `without dependants`, only those nothing depends on), makes them SUCCEEDED with their
 * results and progress units, and ends their attempt rows. `done` returns the tasks and the
 * units each counted before. jsonb_to_recordset reads a JSON null as SQL NULL: a result of null
 * is kept as JSON null.
 */
function completionCtes(items: readonly CompletionItem[], now: Date, tasks: 'without dependants' | 'any'): RawBuilder<unknown> {
  return sql`locked as (
      select t.id, t.progress_units as previous_units, w.result from tasks t
      join jsonb_to_recordset(${completionsJson(items)}::jsonb) as w(id uuid, attempt int, result jsonb) on w.id = t.id
      where t.status = 'RUNNING' and t.attempt = w.attempt ${tasks === 'without dependants' ? sql`and t.dependant_count = 0` : sql``}
      order by t.job_id, t.dependency_rank
      for update of t
    ), done as (
      update tasks set status = 'SUCCEEDED', result = coalesce(locked.result, 'null'::jsonb), finished_at = ${now},
        lease_expires_at = null, progress_units = ${SUCCEEDED_UNITS}, updated_at = ${now}
      from locked
      where tasks.id = locked.id
      returning tasks.*, locked.previous_units
    ), attempts as (
      update task_attempts set status = 'SUCCEEDED', error = null, finished_at = ${now}
      from done
      where task_attempts.task_id = done.id and task_attempts.number = done.attempt
    )`;
}

/**
 * RUNNING this very attempt → SUCCEEDED with its result (JSON text), for every item that still matches.
 * Tasks nothing depends on (nearly all) are completed by one statement with their jobs'
 * bookkeeping; the others, and any the statement fenced out, by `completeWithDependants`.
 */
export async function completeAttempts(db: Db, items: readonly CompletionItem[], notify?: StatementNotify): Promise<CompletedLot> {
  if (items.length === 0) return { tasks: new Map(), events: [], sentEvents: [] };
  const now = new Date();
  const { rows } = await sql<{ id: string; lotEvents: unknown }>`${PREPARED}
    with ${completionCtes(items, now, 'without dependants')}, changes as (
      select job_id, id as task_id, dependency_rank as ord, 'RUNNING'::text as from_status, 'SUCCEEDED'::text as to_status,
        (${SUCCEEDED_UNITS} - previous_units)::int8 as units_delta, 'TASK_SUCCEEDED'::text as event_type,
        jsonb_build_object('attempt', attempt, 'taskStatus', 'SUCCEEDED') as event_data
      from done
    ), ${jobLotCtes(now)}
    select done.id, ${lotEventsColumn(notify)} from done`.execute(db);
  const tasks = new Map<string, { released: TaskRecord[] }>(rows.map(({ id }) => [id, { released: [] }]));
  const rest = items.filter((item) => !tasks.has(item.taskId));
  const fast = whoPublishes(notify, lotEvents(rows));
  if (rest.length === 0) return { tasks, ...fast };
  const slow = await completeWithDependants(db, rest);
  for (const [id, ended] of slow.tasks) tasks.set(id, ended);
  return { tasks, events: [...fast.events, ...slow.events], sentEvents: fast.sentEvents };
}

/**
 * `completeAttempts` for tasks that others depend on, in one transaction: one statement locks,
 * fences, updates the tasks (their progress units too) and ends the attempt rows; the dependants
 * are then settled one task at a time, and the jobs' bookkeeping written by `recordJobChanges`.
 */
async function completeWithDependants(db: Db, items: readonly CompletionItem[]): Promise<Pick<CompletedLot, 'tasks' | 'events'>> {
  return db.transaction().execute(async (trx) => {
    const now = new Date();
    const { rows } = await sql<TaskRecord & { previousUnits: number }>`
      with ${completionCtes(items, now, 'any')}
      select * from done`.execute(trx);
    if (rows.length === 0) return { tasks: new Map(), events: [] };
    rows.sort((a, b) => (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : a.dependencyRank - b.dependencyRank));
    const entries: { jobId: string; change: TaskStatusChange; events: NewJobEvent[] }[] = [];
    const progress = new Map<string, number>();
    const ended = new Map<string, { released: TaskRecord[] }>();
    for (const { previousUnits, ...task } of rows) {
      progress.set(task.jobId, (progress.get(task.jobId) ?? 0) + SUCCEEDED_UNITS - previousUnits);
      // Released and cancelled dependants count 0 before and after: the job's progress moves by the task alone.
      // A fresh clock: a dependant's run time is compared with the moment its last dependency ended, after the locks.
      const dependants = await settleDependants(trx, task, new Date());
      ended.set(task.id, { released: dependants.released });
      entries.push({
        jobId: task.jobId,
        change: { from: 'RUNNING', to: 'SUCCEEDED' },
        events: [{ type: 'TASK_SUCCEEDED', taskId: task.id, data: { attempt: task.attempt, taskStatus: 'SUCCEEDED' } }, ...dependants.events],
      });
      for (const change of dependants.changes) entries.push({ jobId: task.jobId, change, events: [] });
    }
    const recorded = await recordJobChanges(trx, collectByJob(entries), progress);
    return { tasks: ended, events: allEvents(recorded) };
  });
}
