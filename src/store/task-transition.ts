import type { Transaction, Updateable } from 'kysely';
import { canTransitionTask, type TaskStatus } from '../domain/state-machine.js';
import type { Database, TasksTable } from './database.js';
import { recordTaskChanges, type NewJobEvent } from './job-bookkeeping.js';
import { settleDependants } from './task-dependencies.js';
import type { JobRecord, TaskRecord } from './records.js';
import type { JobEvent } from '../domain/job-event.js';

export interface TransitionPlan {
  readonly to: TaskStatus;
  readonly set?: Omit<Updateable<TasksTable>, 'status' | 'id' | 'jobId'>;
  readonly events: readonly NewJobEvent[];
}

export type TransitionOutcome =
  | {
      readonly applied: true;
      readonly task: TaskRecord;
      readonly previous: TaskRecord;
      readonly job: JobRecord;
      readonly events: JobEvent[];
      /** Dependants that the transition released to QUEUED or SCHEDULED: they need deliveries. */
      readonly released: TaskRecord[];
    }
  | { readonly applied: false; readonly task: TaskRecord | undefined };

/**
 * Locks one task, asks `plan` what to do given its current row (undefined: do nothing), applies it,
 * settles its dependants when it ended (`settleDependants`) and records the job bookkeeping.
 * Every single-task write goes through here, so the state machine is checked here: an illegal
 * transition is a bug and throws. Claims and completions in lots (`attempt-batches.ts`) and
 * `cancelJob` write many tasks in one statement, from the statuses the state machine allows.
 */
export async function transitionTask(
  trx: Transaction<Database>,
  taskId: string,
  plan: (task: TaskRecord) => TransitionPlan | undefined,
): Promise<TransitionOutcome> {
  const current = await trx.selectFrom('tasks').selectAll().where('id', '=', taskId).forUpdate().executeTakeFirst();
  if (!current) return { applied: false, task: undefined };
  const next = plan(current);
  if (!next) return { applied: false, task: current };
  if (!canTransitionTask(current.status, next.to)) {
    throw new Error(`illegal task transition ${current.status} → ${next.to} for task ${taskId}`);
  }
  const now = new Date();
  const task = await trx
    .updateTable('tasks')
    .set({ ...next.set, status: next.to, updatedAt: now })
    .where('id', '=', taskId)
    .returningAll()
    .executeTakeFirstOrThrow();
  const dependants = await settleDependants(trx, task, now);
  const { job, events } = await recordTaskChanges(
    trx,
    task.jobId,
    [{ from: current.status, to: next.to }, ...dependants.changes],
    [...next.events, ...dependants.events],
  );
  return { applied: true, task, previous: current, job, events, released: dependants.released };
}
