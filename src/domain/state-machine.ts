/**
 * The task and job state machine: the one place that says which task transitions are legal and
 * how a job's status follows from its tasks. Pure: the store, the worker and the service obey it.
 *
 * Terminology: a *task* moves QUEUED → RUNNING → SUCCEEDED | FAILED | CANCELLED; SCHEDULED means
 * it waits for a run time or a retry backoff, and goes to RUNNING once due; BLOCKED means it waits
 * for the tasks it depends on to succeed, and goes to QUEUED (or SCHEDULED) when the last one has,
 * or to CANCELLED when one of them ended any other way. A *job* has no state of its own: its
 * status is derived from the counts of its tasks' statuses.
 */

export const TASK_STATUSES = ['BLOCKED', 'QUEUED', 'SCHEDULED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const JOB_STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'PARTIALLY_SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** A job in one of these has no task left to run (until a retry). */
export function isFinishedJobStatus(status: JobStatus): boolean {
  return status !== 'QUEUED' && status !== 'RUNNING';
}

const TASK_TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  BLOCKED: ['QUEUED', 'SCHEDULED', 'CANCELLED'],
  QUEUED: ['RUNNING', 'SCHEDULED', 'CANCELLED'],
  // A worker starts a SCHEDULED task once it is due, without a write to mark it QUEUED first.
  SCHEDULED: ['QUEUED', 'RUNNING', 'CANCELLED'],
  // RUNNING → QUEUED | SCHEDULED is a retry (or a lease that expired) going round again.
  RUNNING: ['SUCCEEDED', 'FAILED', 'CANCELLED', 'QUEUED', 'SCHEDULED'],
  SUCCEEDED: [],
  // retryTask gives a failed or cancelled task a fresh attempt budget; BLOCKED while a dependency has not succeeded yet.
  FAILED: ['QUEUED', 'BLOCKED'],
  CANCELLED: ['QUEUED', 'BLOCKED'],
};

export function canTransitionTask(from: TaskStatus, to: TaskStatus): boolean {
  return TASK_TRANSITIONS[from].includes(to);
}

/** The statuses a task may leave for `to`: what a fenced UPDATE puts in its WHERE clause. */
export function taskStatusesAllowedBefore(to: TaskStatus): TaskStatus[] {
  return TASK_STATUSES.filter((from) => canTransitionTask(from, to));
}

/** QUEUED or SCHEDULED: the task waits for a delivery (now, or once its run time comes). */
export function isWaitingTaskStatus(status: TaskStatus): boolean {
  return status === 'QUEUED' || status === 'SCHEDULED';
}

export function isFinalTaskStatus(status: TaskStatus): boolean {
  return status === 'SUCCEEDED' || status === 'FAILED' || status === 'CANCELLED';
}

export function isFinalJobStatus(status: JobStatus): boolean {
  return status === 'SUCCEEDED' || status === 'PARTIALLY_SUCCEEDED' || status === 'FAILED' || status === 'CANCELLED';
}

export type TaskStatusCounts = Readonly<Record<TaskStatus, number>>;

export function emptyTaskStatusCounts(): Record<TaskStatus, number> {
  return { BLOCKED: 0, QUEUED: 0, SCHEDULED: 0, RUNNING: 0, SUCCEEDED: 0, FAILED: 0, CANCELLED: 0 };
}

/**
 * A job is QUEUED until one of its tasks has run, RUNNING while any task is unfinished, and
 * once all are final: SUCCEEDED (all succeeded), CANCELLED (all cancelled), FAILED (none
 * succeeded, some failed) or PARTIALLY_SUCCEEDED (some succeeded, some did not).
 */
export function deriveJobStatus(counts: TaskStatusCounts): JobStatus {
  const total = TASK_STATUSES.reduce((sum, status) => sum + counts[status], 0);
  if (total === 0) throw new RangeError('a job has at least one task');
  const unfinished = counts.BLOCKED + counts.QUEUED + counts.SCHEDULED + counts.RUNNING;
  if (unfinished > 0) {
    // A cancelled task never ran, so it alone does not make the job RUNNING.
    const started = counts.RUNNING + counts.SUCCEEDED + counts.FAILED;
    return started > 0 ? 'RUNNING' : 'QUEUED';
  }
  if (counts.SUCCEEDED === total) return 'SUCCEEDED';
  if (counts.CANCELLED === total) return 'CANCELLED';
  if (counts.SUCCEEDED > 0) return 'PARTIALLY_SUCCEEDED';
  return 'FAILED';
}
