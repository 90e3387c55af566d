import { describe, expect, it } from 'vitest';
import {
  PROGRESS_UNITS_PER_TASK,
  rollUpJobProgress,
  sumTaskProgressUnits,
  taskProgressUnits,
} from '../../src/domain/progress-roll-up.js';
import { emptyTaskStatusCounts, TASK_STATUSES, type TaskStatus, type TaskStatusCounts } from '../../src/domain/state-machine.js';

const UNIT = PROGRESS_UNITS_PER_TASK;

function counts(partial: Partial<Record<TaskStatus, number>>): TaskStatusCounts {
  return { ...emptyTaskStatusCounts(), ...partial };
}

describe('taskProgressUnits: one task’s contribution', () => {
  it('is whole for SUCCEEDED, whatever it last reported', () => {
    expect(taskProgressUnits('SUCCEEDED', null)).toBe(UNIT);
    expect(taskProgressUnits('SUCCEEDED', { current: 1, total: 10 })).toBe(UNIT);
  });

  it('is current / total while RUNNING with a total', () => {
    expect(taskProgressUnits('RUNNING', { current: 1, total: 4 })).toBe(250_000);
    expect(taskProgressUnits('RUNNING', { current: 1, total: 3 })).toBe(333_333);
    expect(taskProgressUnits('RUNNING', { current: 2, total: 3 })).toBe(666_667);
  });

  it('stops a millionth short of whole while RUNNING: a task is done when it succeeded', () => {
    expect(taskProgressUnits('RUNNING', { current: 3, total: 3 })).toBe(UNIT - 1);
    expect(taskProgressUnits('RUNNING', { current: 9_999_999, total: 10_000_000 })).toBe(UNIT - 1);
  });

  it('is nothing while RUNNING without a total, or before any report', () => {
    expect(taskProgressUnits('RUNNING', null)).toBe(0);
    expect(taskProgressUnits('RUNNING', { current: 7, total: null })).toBe(0);
    expect(taskProgressUnits('RUNNING', { current: 7, total: 0 })).toBe(0);
    expect(taskProgressUnits('RUNNING', { current: 7, total: -3 })).toBe(0);
  });

  it('stays within [0, 1] for reports out of range', () => {
    expect(taskProgressUnits('RUNNING', { current: 12, total: 10 })).toBe(UNIT - 1);
    expect(taskProgressUnits('RUNNING', { current: -1, total: 10 })).toBe(0);
    expect(taskProgressUnits('RUNNING', { current: Number.NaN, total: 10 })).toBe(0);
    expect(taskProgressUnits('RUNNING', { current: Number.POSITIVE_INFINITY, total: 10 })).toBe(0);
  });

  it('is nothing when waiting, failed or cancelled, even with an old report on the row', () => {
    for (const status of ['QUEUED', 'SCHEDULED', 'FAILED', 'CANCELLED'] as const) {
      expect(taskProgressUnits(status, { current: 9, total: 10 }), status).toBe(0);
    }
  });
});

describe('rollUpJobProgress: the job’s number', () => {
  it('is the mean of the contributions, from the units and the counts', () => {
    const tasks = [
      { status: 'SUCCEEDED', progress: null },
      { status: 'RUNNING', progress: { current: 1, total: 2 } },
      { status: 'QUEUED', progress: null },
      { status: 'FAILED', progress: { current: 5, total: 10 } },
    ] as const;
    const progress = rollUpJobProgress({ units: sumTaskProgressUnits(tasks), counts: counts({ SUCCEEDED: 1, RUNNING: 1, QUEUED: 1, FAILED: 1 }) });
    expect(progress).toEqual({
      fraction: 0.375,
      percent: 37.5,
      tasksTotal: 4,
      tasksDone: 2,
      tasksSucceeded: 1,
      counts: counts({ SUCCEEDED: 1, RUNNING: 1, QUEUED: 1, FAILED: 1 }),
    });
  });

  it('rounds the percentage down, so 100 means all the work is done', () => {
    expect(rollUpJobProgress({ units: 2 * UNIT, counts: counts({ SUCCEEDED: 2, QUEUED: 1 }) }).percent).toBe(66.6);
    expect(rollUpJobProgress({ units: 3 * UNIT - 1, counts: counts({ SUCCEEDED: 2, RUNNING: 1 }) }).percent).toBe(99.9);
    expect(rollUpJobProgress({ units: 3 * UNIT, counts: counts({ SUCCEEDED: 3 }) })).toMatchObject({ fraction: 1, percent: 100 });
  });

  it('counts finished tasks of any outcome as done, and only successes as progress', () => {
    const progress = rollUpJobProgress({ units: UNIT, counts: counts({ SUCCEEDED: 1, FAILED: 1, CANCELLED: 2 }) });
    expect(progress).toMatchObject({ fraction: 0.25, percent: 25, tasksDone: 4, tasksTotal: 4, tasksSucceeded: 1 });
  });

  it('kept as a running sum of differences, is exact after 70,000 reports on 10,000 tasks', () => {
    const TASKS = 10_000;
    const counted = new Array<number>(TASKS).fill(0);
    let sum = 0;
    const move = (i: number, now: number): void => {
      sum += now - (counted[i] ?? 0);
      counted[i] = now;
    };
    for (let step = 1; step <= 7; step++) {
      for (let i = 0; i < TASKS; i++) move(i, taskProgressUnits('RUNNING', { current: step, total: 7 }));
    }
    expect(sum).toBe(TASKS * (UNIT - 1));
    expect(rollUpJobProgress({ units: sum, counts: counts({ RUNNING: TASKS }) }).percent).toBe(99.9);
    for (let i = 0; i < TASKS; i++) move(i, taskProgressUnits('SUCCEEDED', null));
    expect(sum).toBe(TASKS * UNIT);
    expect(rollUpJobProgress({ units: sum, counts: counts({ SUCCEEDED: TASKS }) })).toMatchObject({ fraction: 1, percent: 100 });
  });

  it('stays within [0, 1] and is 0 for a job without tasks', () => {
    expect(rollUpJobProgress({ units: -5, counts: counts({ QUEUED: 1 }) }).fraction).toBe(0);
    expect(rollUpJobProgress({ units: 5 * UNIT, counts: counts({ SUCCEEDED: 1 }) }).fraction).toBe(1);
    expect(rollUpJobProgress({ units: 0, counts: counts({}) })).toMatchObject({ fraction: 0, percent: 0, tasksTotal: 0 });
  });

  it('totals every status', () => {
    const all = Object.fromEntries(TASK_STATUSES.map((status) => [status, 1])) as Record<TaskStatus, number>;
    expect(rollUpJobProgress({ units: 0, counts: all }).tasksTotal).toBe(TASK_STATUSES.length);
  });
});
