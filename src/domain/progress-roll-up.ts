import { TASK_STATUSES, type TaskStatus, type TaskStatusCounts } from './state-machine.js';

/**
 * A job's progress: the mean of its tasks' contributions, each in [0, 1]. A SUCCEEDED task gives
 * 1, a RUNNING one that reported a total gives `current / total` (short of 1 by a millionth at
 * most: until it has succeeded, a task is not done), every other task 0.
 *
 * FAILED and CANCELLED tasks give 0 but stay in the count: the number is the share of the job's
 * work that has succeeded, so it never claims work that was not done, and it is 1 exactly when
 * every task SUCCEEDED (a retried task fills its share in). How many tasks have finished,
 * whatever their outcome, is `tasksDone`; the job's status says how it ended.
 *
 * Contributions are whole units (a million a task) so that the job's running sum, moved by
 * thousands of updates, stays exact: floats would drift.
 */
export const PROGRESS_UNITS_PER_TASK = 1_000_000;

export interface TaskProgressReport {
  readonly current: number;
  readonly total: number | null;
}

/** A task's contribution to its job's progress, in units of PROGRESS_UNITS_PER_TASK. */
export function taskProgressUnits(status: TaskStatus, progress: TaskProgressReport | null): number {
  if (status === 'SUCCEEDED') return PROGRESS_UNITS_PER_TASK;
  if (status !== 'RUNNING' || !progress || progress.total === null || !(progress.total > 0)) return 0;
  const share = progress.current / progress.total;
  if (!Number.isFinite(share)) return 0;
  return Math.min(PROGRESS_UNITS_PER_TASK - 1, Math.max(0, Math.round(share * PROGRESS_UNITS_PER_TASK)));
}

/** What a job's progress is made of: the sum of its tasks' units and its tasks' status counts. */
export interface JobProgressSnapshot {
  readonly units: number;
  readonly counts: TaskStatusCounts;
}

export interface JobProgress {
  /** In [0, 1]. */
  readonly fraction: number;
  /** `fraction` as a percentage with one decimal, rounded down: 100 only when every task succeeded. */
  readonly percent: number;
  readonly tasksTotal: number;
  /** Tasks in a final status: SUCCEEDED, FAILED or CANCELLED. */
  readonly tasksDone: number;
  readonly tasksSucceeded: number;
  readonly counts: TaskStatusCounts;
}

export function rollUpJobProgress(snapshot: JobProgressSnapshot): JobProgress {
  const { counts } = snapshot;
  const tasksTotal = TASK_STATUSES.reduce((sum, status) => sum + counts[status], 0);
  const capacity = tasksTotal * PROGRESS_UNITS_PER_TASK;
  const units = Math.min(capacity, Math.max(0, snapshot.units));
  return {
    fraction: capacity === 0 ? 0 : units / capacity,
    // Integer arithmetic until the last division, so 2 of 3 tasks is 66.6, not 66.66666….
    percent: capacity === 0 ? 0 : Math.floor((units * 1000) / capacity) / 10,
    tasksTotal,
    tasksDone: counts.SUCCEEDED + counts.FAILED + counts.CANCELLED,
    tasksSucceeded: counts.SUCCEEDED,
    counts,
  };
}

/** The sum a job's row keeps, worked out from all of its tasks: what the running sum must equal. */
export function sumTaskProgressUnits(tasks: Iterable<{ readonly status: TaskStatus; readonly progress: TaskProgressReport | null }>): number {
  let units = 0;
  for (const task of tasks) units += taskProgressUnits(task.status, task.progress);
  return units;
}
