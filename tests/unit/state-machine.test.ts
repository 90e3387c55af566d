import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../support/seeded-random.js';
import {
  JOB_STATUSES,
  TASK_STATUSES,
  canTransitionTask,
  deriveJobStatus,
  emptyTaskStatusCounts,
  isFinalJobStatus,
  isFinalTaskStatus,
  taskStatusesAllowedBefore,
  type JobStatus,
  type TaskStatus,
  type TaskStatusCounts,
} from '../../src/domain/state-machine.js';

/**
 * The legal task transitions, written out by hand: row = from, column = to.
 * A change to the state machine must change this table.
 */
const LEGAL: Record<TaskStatus, Record<TaskStatus, boolean>> = {
  BLOCKED:   { BLOCKED: false, QUEUED: true,  SCHEDULED: true,  RUNNING: false, SUCCEEDED: false, FAILED: false, CANCELLED: true },
  QUEUED:    { BLOCKED: false, QUEUED: false, SCHEDULED: true,  RUNNING: true,  SUCCEEDED: false, FAILED: false, CANCELLED: true },
  SCHEDULED: { BLOCKED: false, QUEUED: true,  SCHEDULED: false, RUNNING: true,  SUCCEEDED: false, FAILED: false, CANCELLED: true },
  RUNNING:   { BLOCKED: false, QUEUED: true,  SCHEDULED: true,  RUNNING: false, SUCCEEDED: true,  FAILED: true,  CANCELLED: true },
  SUCCEEDED: { BLOCKED: false, QUEUED: false, SCHEDULED: false, RUNNING: false, SUCCEEDED: false, FAILED: false, CANCELLED: false },
  FAILED:    { BLOCKED: true,  QUEUED: true,  SCHEDULED: false, RUNNING: false, SUCCEEDED: false, FAILED: false, CANCELLED: false },
  CANCELLED: { BLOCKED: true,  QUEUED: true,  SCHEDULED: false, RUNNING: false, SUCCEEDED: false, FAILED: false, CANCELLED: false },
};

const ALL_TASK_STATUSES: TaskStatus[] = ['BLOCKED', 'QUEUED', 'SCHEDULED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'];
const ALL_JOB_STATUSES: JobStatus[] = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'PARTIALLY_SUCCEEDED', 'FAILED', 'CANCELLED'];

function counts(partial: Partial<Record<TaskStatus, number>>): TaskStatusCounts {
  return { ...emptyTaskStatusCounts(), ...partial };
}

describe('status lists', () => {
  it('name every task and job status', () => {
    expect([...TASK_STATUSES]).toEqual(ALL_TASK_STATUSES);
    expect([...JOB_STATUSES]).toEqual(ALL_JOB_STATUSES);
  });
});

describe('canTransitionTask', () => {
  const pairs = ALL_TASK_STATUSES.flatMap((from) => ALL_TASK_STATUSES.map((to) => [from, to, LEGAL[from][to]] as const));

  it('covers all 49 pairs', () => {
    expect(pairs).toHaveLength(49);
  });

  it.each(pairs)('%s → %s is legal: %s', (from, to, legal) => {
    expect(canTransitionTask(from, to)).toBe(legal);
  });
});

describe('taskStatusesAllowedBefore', () => {
  const expected: Record<TaskStatus, TaskStatus[]> = {
    BLOCKED: ['FAILED', 'CANCELLED'],
    QUEUED: ['BLOCKED', 'SCHEDULED', 'RUNNING', 'FAILED', 'CANCELLED'],
    SCHEDULED: ['BLOCKED', 'QUEUED', 'RUNNING'],
    RUNNING: ['QUEUED', 'SCHEDULED'],
    SUCCEEDED: ['RUNNING'],
    FAILED: ['RUNNING'],
    CANCELLED: ['BLOCKED', 'QUEUED', 'SCHEDULED', 'RUNNING'],
  };

  it.each(ALL_TASK_STATUSES)('lists the statuses a task may leave for %s', (to) => {
    expect(taskStatusesAllowedBefore(to)).toEqual(expected[to]);
  });
});

describe('isFinalTaskStatus', () => {
  const final: Record<TaskStatus, boolean> = {
    BLOCKED: false,
    QUEUED: false,
    SCHEDULED: false,
    RUNNING: false,
    SUCCEEDED: true,
    FAILED: true,
    CANCELLED: true,
  };

  it.each(ALL_TASK_STATUSES)('%s', (status) => {
    expect(isFinalTaskStatus(status)).toBe(final[status]);
  });
});

describe('isFinalJobStatus', () => {
  const final: Record<JobStatus, boolean> = {
    QUEUED: false,
    RUNNING: false,
    SUCCEEDED: true,
    PARTIALLY_SUCCEEDED: true,
    FAILED: true,
    CANCELLED: true,
  };

  it.each(ALL_JOB_STATUSES)('%s', (status) => {
    expect(isFinalJobStatus(status)).toBe(final[status]);
  });
});

describe('deriveJobStatus', () => {
  it.each<[string, Partial<Record<TaskStatus, number>>, JobStatus]>([
    ['all queued', { QUEUED: 3 }, 'QUEUED'],
    ['queued + cancelled (nothing ran)', { QUEUED: 2, CANCELLED: 1 }, 'QUEUED'],
    ['scheduled only', { SCHEDULED: 2 }, 'QUEUED'],
    ['blocked + queued (nothing ran)', { BLOCKED: 2, QUEUED: 1 }, 'QUEUED'],
    ['blocked behind a success', { BLOCKED: 2, SUCCEEDED: 1 }, 'RUNNING'],
    ['one running', { RUNNING: 1 }, 'RUNNING'],
    ['running among queued and finished', { QUEUED: 1, RUNNING: 1, SUCCEEDED: 1, CANCELLED: 1 }, 'RUNNING'],
    ['some succeeded + some queued', { SUCCEEDED: 1, QUEUED: 2 }, 'RUNNING'],
    ['some failed + some queued', { FAILED: 1, QUEUED: 2 }, 'RUNNING'],
    ['all succeeded', { SUCCEEDED: 4 }, 'SUCCEEDED'],
    ['all cancelled', { CANCELLED: 4 }, 'CANCELLED'],
    ['all failed', { FAILED: 4 }, 'FAILED'],
    ['failed + cancelled', { FAILED: 1, CANCELLED: 3 }, 'FAILED'],
    ['succeeded + failed', { SUCCEEDED: 3, FAILED: 1 }, 'PARTIALLY_SUCCEEDED'],
    ['succeeded + cancelled', { SUCCEEDED: 1, CANCELLED: 3 }, 'PARTIALLY_SUCCEEDED'],
  ])('%s → %s', (_name, partial, expected) => {
    expect(deriveJobStatus(counts(partial))).toBe(expected);
  });

  it('throws a RangeError for a job with zero tasks', () => {
    expect(() => deriveJobStatus(emptyTaskStatusCounts())).toThrow(RangeError);
  });

  it('is final exactly when no task is BLOCKED, QUEUED, SCHEDULED or RUNNING (random count vectors)', () => {
    const random = mulberry32(20240607);
    const int = (bound: number) => Math.floor(random() * bound);
    for (let run = 0; run < 2_000; run++) {
      const vector = emptyTaskStatusCounts();
      // Half the runs leave out the unfinished statuses, so final outcomes are common too.
      const statuses = run % 2 === 0 ? ALL_TASK_STATUSES : (['SUCCEEDED', 'FAILED', 'CANCELLED'] as const);
      for (const status of statuses) vector[status] = int(3) === 0 ? 0 : int(5);
      const total = ALL_TASK_STATUSES.reduce((sum, status) => sum + vector[status], 0);
      if (total === 0) {
        expect(() => deriveJobStatus(vector)).toThrow(RangeError);
        continue;
      }
      const unfinished = vector.BLOCKED + vector.QUEUED + vector.SCHEDULED + vector.RUNNING;
      const status = deriveJobStatus(vector);
      expect(isFinalJobStatus(status), `${JSON.stringify(vector)} → ${status}`).toBe(unfinished === 0);
    }
  });
});
