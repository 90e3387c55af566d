import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../../src/tasks/define-task.js';
import { submitOrThrow } from '../support/job-operations.js';
import { taskDetail, waitForTask } from '../support/task-polling.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { TEST_REDIS_URL } from '../support/test-redis.js';

/** Fails every attempt, so its retries can be timed. */
const alwaysFails = defineTask({
  name: 'test.always-fails',
  payload: z.unknown(),
  handler: () => {
    throw Object.assign(new Error('failing on purpose'), { code: 'ON_PURPOSE' });
  },
});

const ms = (iso: string): number => new Date(iso).getTime();

describe.each(['memory', 'postgres', 'redis'])('delays and retries on the %s adapter', (adapter) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { QUEUE_ADAPTER: adapter, REDIS_URL: TEST_REDIS_URL }, tasks: [alwaysFails] });
  });
  afterAll(() => app.stop());

  it('keeps a delayed task SCHEDULED and never starts it early', async () => {
    const runAt = new Date(Date.now() + 1_200);
    const job = await submitOrThrow(app.url, {
      name: 'later',
      tasks: [
        { type: 'demo.echo', payload: 'delayMs', delayMs: 900 },
        { type: 'demo.echo', payload: 'runAt', runAt: runAt.toISOString() },
      ],
    });
    const [byDelay, byRunAt] = job.taskIds as [string, string];
    expect((await taskDetail(app.url, byDelay)).status).toBe('SCHEDULED');
    expect((await taskDetail(app.url, byRunAt)).status).toBe('SCHEDULED');

    const delayed = await waitForTask(app.url, byDelay, (t) => t.status === 'SUCCEEDED');
    const timed = await waitForTask(app.url, byRunAt, (t) => t.status === 'SUCCEEDED');
    expect(ms(delayed.attempts[0]!.startedAt)).toBeGreaterThanOrEqual(ms(delayed.createdAt) + 900);
    expect(ms(timed.attempts[0]!.startedAt)).toBeGreaterThanOrEqual(runAt.getTime());
    // Due, it is handed out promptly (loose: a busy machine).
    expect(ms(timed.attempts[0]!.startedAt)).toBeLessThan(runAt.getTime() + 3_000);
  });

  it('waits out an exponential backoff between attempts and keeps every attempt', async () => {
    const job = await submitOrThrow(app.url, {
      name: 'backoff',
      tasks: [{ type: 'test.always-fails', payload: null, maxAttempts: 3, backoff: { type: 'EXPONENTIAL', delayMs: 300, maxDelayMs: 5_000 } }],
    });
    const taskId = job.taskIds[0]!;
    const task = await waitForTask(app.url, taskId, (t) => t.status === 'FAILED');
    expect(task.backoff).toEqual({ type: 'EXPONENTIAL', delayMs: 300, maxDelayMs: 5_000, jitter: null });
    expect(task.attempts.map((a) => [a.number, a.status, a.error?.code])).toEqual([
      [1, 'FAILED', 'ON_PURPOSE'],
      [2, 'FAILED', 'ON_PURPOSE'],
      [3, 'FAILED', 'ON_PURPOSE'],
    ]);
    for (const attempt of task.attempts) {
      expect(attempt.workerId).toMatch(/.+/);
      expect(ms(attempt.finishedAt!)).toBeGreaterThanOrEqual(ms(attempt.startedAt));
    }
    const gaps = [1, 2].map((i) => ms(task.attempts[i]!.startedAt) - ms(task.attempts[i - 1]!.finishedAt!));
    expect(gaps[0]).toBeGreaterThanOrEqual(300);
    expect(gaps[1]).toBeGreaterThanOrEqual(600);
    // Upper bounds are loose on purpose: a busy machine hands a due task out late, never early.
    expect(gaps[0]).toBeLessThan(300 + 2_000);
    expect(gaps[1]).toBeLessThan(600 + 2_000);
  });

  it('keeps each jittered wait between (1 − jitter) × delay and the delay', async () => {
    const job = await submitOrThrow(app.url, {
      name: 'jitter',
      tasks: [{ type: 'test.always-fails', payload: null, maxAttempts: 4, backoff: { type: 'FIXED', delayMs: 400, jitter: 0.5 } }],
    });
    const task = await waitForTask(app.url, job.taskIds[0]!, (t) => t.status === 'FAILED');
    expect(task.attempts).toHaveLength(4);
    for (let i = 1; i < task.attempts.length; i++) {
      const gap = ms(task.attempts[i]!.startedAt) - ms(task.attempts[i - 1]!.finishedAt!);
      expect(gap).toBeGreaterThanOrEqual(200);
      expect(gap).toBeLessThan(400 + 2_000);
    }
  });
});
