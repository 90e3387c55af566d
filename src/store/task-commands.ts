import type { Transaction } from 'kysely';
import { isFinalTaskStatus, TASK_STATUSES, type TaskStatus } from '../domain/state-machine.js';
import { InvalidStateError, NotFoundError } from '../errors/index.js';
import type { Database, Db } from './database.js';
import { endAttemptRow } from './attempts.js';
import { recordTaskChanges, type NewJobEvent, type TaskStatusChange } from './job-bookkeeping.js';
import type { JobRecord, TaskRecord } from './records.js';
import { lockDependencies } from './task-dependencies.js';
import { transitionTask } from './task-transition.js';
import type { JobEvent } from '../domain/job-event.js';

/** What the API asks of tasks: cancel and retry. Each checks the state under the row lock. */

export interface CommandResult<T> {
  readonly value: T;
  readonly events: JobEvent[];
}

const CANCELLED_MESSAGE = 'Cancelled on request';
const OPEN_STATUSES: readonly TaskStatus[] = TASK_STATUSES.filter((status) => !isFinalTaskStatus(status));

export async function cancelTask(db: Db, taskId: string): Promise<CommandResult<TaskRecord>> {
  return db.transaction().execute(async (trx) => {
    const now = new Date();
    const outcome = await transitionTask(trx, taskId, (task) =>
      OPEN_STATUSES.includes(task.status)
        ? {
            to: 'CANCELLED',
            set: { finishedAt: now, leaseExpiresAt: null },
            events: [{ type: 'TASK_CANCELLED', taskId: task.id, data: { taskStatus: 'CANCELLED', message: CANCELLED_MESSAGE } }],
          }
        : undefined,
    );
    if (!outcome.task) throw new NotFoundError('Task', taskId);
    if (!outcome.applied) {
      throw new InvalidStateError(`Task ${taskId} is ${outcome.task.status} and can no longer be cancelled`, outcome.task.status);
    }
    if (outcome.previous.status === 'RUNNING') {
      await endAttemptRow(trx, { taskId, attempt: outcome.previous.attempt }, 'CANCELLED', null, now);
    }
    return { value: outcome.task, events: outcome.events };
  });
}

/** Cancels every unfinished task of the job; finished ones keep their outcome. */
export async function cancelJob(db: Db, jobId: string): Promise<CommandResult<JobRecord> & { cancelledTasks: TaskRecord[] }> {
  return db.transaction().execute(async (trx) => {
    const job = await trx.selectFrom('jobs').select(['id', 'status']).where('id', '=', jobId).executeTakeFirst();
    if (!job) throw new NotFoundError('Job', jobId);
    // Locked in rank order, like every multi-task write, so two of them cannot deadlock.
    const open = await trx
      .selectFrom('tasks')
      .selectAll()
      .where('jobId', '=', jobId)
      .where('status', 'in', OPEN_STATUSES)
      .orderBy('dependencyRank')
      .forUpdate()
      .execute();
    if (open.length === 0) {
      throw new InvalidStateError(`Job ${jobId} is ${job.status}: it has no unfinished task to cancel`, job.status);
    }
    const now = new Date();
    const cancelled = await trx
      .updateTable('tasks')
      .set({ status: 'CANCELLED', finishedAt: now, leaseExpiresAt: null, updatedAt: now })
      .where('id', 'in', open.map((t) => t.id))
      .returningAll()
      .execute();
    await endRunningAttempts(trx, open, now);
    const changes: TaskStatusChange[] = open.map((t) => ({ from: t.status, to: 'CANCELLED' }));
    const events: NewJobEvent[] = open.map((t) => ({
      type: 'TASK_CANCELLED',
      taskId: t.id,
      data: { taskStatus: 'CANCELLED', message: CANCELLED_MESSAGE },
    }));
    const recorded = await recordTaskChanges(trx, jobId, changes, events);
    return { value: recorded.job, events: recorded.events, cancelledTasks: cancelled };
  });
}

async function endRunningAttempts(trx: Transaction<Database>, tasks: readonly TaskRecord[], now: Date): Promise<void> {
  for (const task of tasks) {
    if (task.status === 'RUNNING') await endAttemptRow(trx, { taskId: task.id, attempt: task.attempt }, 'CANCELLED', null, now);
  }
}

/**
 * A FAILED or CANCELLED task runs again with a fresh attempt budget: its next attempt is
 * `attempt + 1` and it may make `maxAttempts` more of them. Its siblings are left alone. A task
 * with dependencies is QUEUED when all of them have succeeded and BLOCKED while some have not yet
 * ended; if one of them FAILED or was CANCELLED, it is refused: retry that one first.
 */
export async function retryTask(db: Db, taskId: string): Promise<CommandResult<TaskRecord>> {
  return db.transaction().execute(async (trx) => {
    const now = new Date();
    const dependencies = await lockDependencies(trx, taskId);
    const unusable = dependencies.find((dependency) => dependency.status === 'FAILED' || dependency.status === 'CANCELLED');
    const pending = dependencies.filter((dependency) => dependency.status !== 'SUCCEEDED').length;
    const outcome = await transitionTask(trx, taskId, (task) =>
      (task.status === 'FAILED' || task.status === 'CANCELLED') && !unusable
        ? {
            to: pending > 0 ? 'BLOCKED' : 'QUEUED',
            set: {
              attemptBase: task.attempt,
              runAt: now,
              finishedAt: null,
              workerId: null,
              pendingDependencies: pending,
            },
            events: [
              {
                type: 'TASK_QUEUED',
                taskId: task.id,
                data: { taskStatus: pending > 0 ? 'BLOCKED' : 'QUEUED', message: 'Retried on request' },
              },
            ],
          }
        : undefined,
    );
    if (!outcome.task) throw new NotFoundError('Task', taskId);
    if (!outcome.applied) {
      const reason = unusable
        ? `it depends on task "${unusable.key ?? unusable.id}", which is ${unusable.status}: retry that one first`
        : 'only a FAILED or CANCELLED task can be retried';
      throw new InvalidStateError(`Task ${taskId} is ${outcome.task.status}: ${reason}`, outcome.task.status);
    }
    return { value: outcome.task, events: outcome.events };
  });
}
