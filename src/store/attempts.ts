import { CompiledQuery, sql, type Transaction } from 'kysely';
import { taskProgressUnits } from '../domain/job-progress.js';
import { retryDelayMs } from '../domain/backoff.js';
import type { StatementNotify } from '../../adapters/event-bus.js';
import type { AttemptRef } from '../domain/attempt-ref.js';
import type { Database, Db } from './database.js';
import { toJson } from './database.js';
import { jobLotCtes, lotEvents, lotEventsColumn } from './job-lot-sql.js';
import { renewLeasesWith, type RenewedRow } from './lease-renewal.js';
import type { TaskRecord } from './records.js';
import { claimAttempts, completeAttempts } from './attempt-batches.js';
import { transitionTask } from './task-transition.js';
import type { JobEvent } from '../domain/job-event.js';
import type { TaskErrorValue, TaskProgressValue } from '../domain/task-values.js';
import { PREPARED } from '../pg/prepared-statement.js';

/**
 * The writes a worker makes for one attempt. Each is fenced by `taskId + attempt`: it applies only
 * while the task is RUNNING that very attempt, so a duplicate delivery, or a zombie whose lease
 * expired and whose task moved on, changes nothing.
 */

export interface Claimed {
  readonly task: TaskRecord;
  readonly events: JobEvent[];
}

/** QUEUED (or SCHEDULED and due) with `attempt - 1` attempts behind it → RUNNING `attempt`, with a lease. */
export async function claimAttempt(
  db: Db,
  ref: AttemptRef & { readonly workerId: string; readonly leaseMs: number },
): Promise<Claimed | undefined> {
  const lot = await claimAttempts(db, [ref], ref);
  const task = lot.tasks.get(ref.taskId);
  return task ? { task, events: lot.events } : undefined;
}

export interface AttemptEnd {
  readonly task: TaskRecord;
  readonly events: JobEvent[];
  /** Dependants the end released (it SUCCEEDED): each needs a delivery. */
  readonly released: TaskRecord[];
}

/** A completed attempt: its task is SUCCEEDED, and nothing more of it is read back. */
export type Completed = Omit<AttemptEnd, 'task'>;

export async function completeAttempt(db: Db, ref: AttemptRef & { readonly result: unknown }): Promise<Completed | undefined> {
  const lot = await completeAttempts(db, [{ taskId: ref.taskId, attempt: ref.attempt, resultJson: toJson(ref.result) }]);
  const ended = lot.tasks.get(ref.taskId);
  return ended ? { ...ended, events: lot.events } : undefined;
}

/**
 * Ends the attempt as failed: while attempts remain the task goes round again, QUEUED at once or
 * SCHEDULED after its backoff; else, or when the failure is `final` (no retry can mend it), FAILED.
 */
export async function failAttempt(
  db: Db,
  ref: AttemptRef & { readonly error: TaskErrorValue; readonly final?: boolean },
): Promise<AttemptEnd | undefined> {
  return endWithoutSuccess(db, ref, false);
}

/**
 * Gives a running attempt back unfinished (its worker is stopping): the attempt is recorded as
 * failed with the given error, the task is QUEUED for its next attempt, and the interrupted
 * attempt does not count against `maxAttempts`.
 */
export async function handBackAttempt(db: Db, ref: AttemptRef & { readonly error: TaskErrorValue }): Promise<AttemptEnd | undefined> {
  return endWithoutSuccess(db, ref, true);
}

async function endWithoutSuccess(
  db: Db,
  ref: AttemptRef & { readonly error: TaskErrorValue; readonly final?: boolean },
  handBack: boolean,
): Promise<AttemptEnd | undefined> {
  return db.transaction().execute(async (trx) => {
    const now = new Date();
    const outcome = await transitionTask(trx, ref.taskId, (task) => {
      if (!isRunning(task, ref)) return undefined;
      const data = { attempt: ref.attempt, error: ref.error, message: ref.error.message };
      if (handBack || (!ref.final && task.attempt - task.attemptBase < task.maxAttempts)) {
        // A hand-back is not a failure of the task: it goes round at once.
        const delayMs = handBack ? 0 : retryDelayMs(task.backoff, task.attempt - task.attemptBase);
        const to = delayMs > 0 ? 'SCHEDULED' : 'QUEUED';
        return {
          to,
          set: {
            error: toJson(ref.error),
            leaseExpiresAt: null,
            workerId: null,
            runAt: new Date(now.getTime() + delayMs),
            ...(handBack ? { attemptBase: task.attemptBase + 1 } : {}),
          },
          events: [{ type: 'TASK_RETRY_SCHEDULED', taskId: task.id, data: { ...data, taskStatus: to } }],
        };
      }
      return {
        to: 'FAILED',
        set: { error: toJson(ref.error), leaseExpiresAt: null, finishedAt: now },
        events: [{ type: 'TASK_FAILED', taskId: task.id, data: { ...data, taskStatus: 'FAILED' } }],
      };
    });
    if (!outcome.applied) return undefined;
    await endAttemptRow(trx, ref, 'FAILED', ref.error, now);
    return { task: outcome.task, events: outcome.events, released: outcome.released };
  });
}

export async function endAttemptRow(
  trx: Transaction<Database>,
  ref: AttemptRef,
  status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED',
  error: TaskErrorValue | null,
  now: Date,
): Promise<void> {
  await trx
    .updateTable('taskAttempts')
    .set({ status, error: error ? toJson(error) : null, finishedAt: now })
    .where('taskId', '=', ref.taskId)
    .where('number', '=', ref.attempt)
    .execute();
}

function isRunning(task: TaskRecord, ref: AttemptRef): boolean {
  return task.status === 'RUNNING' && task.attempt === ref.attempt;
}

/**
 * Stores the attempt's latest progress and its TASK_PROGRESS event (and JOB_PROGRESS when the
 * job's sum moved), fenced like the rest, in one prepared, autocommitted statement with the job's
 * bookkeeping (`jobLotCtes`). As a transaction of BEGIN, the task's update, its recount, the job's
 * lock, update and events, and COMMIT it took 6–8 ms a report on loopback, nearly all of it in the
 * eight round trips, and every subscriber of the job waited that long for each event.
 */
export async function recordProgress(
  db: Db,
  ref: AttemptRef & { readonly progress: TaskProgressValue },
  notify?: StatementNotify,
): Promise<JobEvent[]> {
  const now = new Date();
  const units = taskProgressUnits('RUNNING', ref.progress);
  const { rows } = await sql<{ lotEvents: unknown }>`${PREPARED}
    with locked as (
      select id, progress_units as previous_units from tasks
      where id = ${ref.taskId} and status = 'RUNNING' and attempt = ${ref.attempt}
      for update
    ), reported as (
      update tasks set progress = ${toJson(ref.progress)}::jsonb, progress_units = ${units}, updated_at = ${now}
      from locked
      where tasks.id = locked.id
      returning tasks.id, tasks.job_id, tasks.attempt, tasks.progress, tasks.progress_units, locked.previous_units
    ), changes as (
      select job_id, id as task_id, 0 as ord, 'RUNNING'::text as from_status, 'RUNNING'::text as to_status,
        (progress_units - previous_units)::int8 as units_delta, 'TASK_PROGRESS'::text as event_type,
        jsonb_build_object('attempt', attempt, 'progress', progress) as event_data
      from reported
    ), ${jobLotCtes(now)}
    select ${lotEventsColumn(notify)} from reported`.execute(db);
  return lotEvents(rows);
}

/** The lease renewal of lease-renewal.ts, through Kysely (the lease keeper's thread runs it on bare pg). */
export function renewLeases(
  db: Db,
  params: { readonly workerId: string; readonly attempts: readonly AttemptRef[]; readonly leaseMs: number },
): Promise<AttemptRef[]> {
  return renewLeasesWith(async (text, values) => (await db.executeQuery<RenewedRow>(CompiledQuery.raw(text, values))).rows, params);
}
