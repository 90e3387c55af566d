import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { NonRetryableError } from '../../src/errors/index.js';
import { defineTask } from '../../src/tasks/define-task.js';
import { GetJob, GetTask } from '../graphql/operations.js';
import { execute } from '../support/graphql-client.js';
import { submitOrThrow } from '../support/job-operations.js';
import { waitForTask, waitForTasks } from '../support/task-polling.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const RESULT_MAX_BYTES = 1_000;
const RETENTION_MS = 1_500;

const bigint = defineTask({ name: 'test.bigint', payload: z.unknown(), handler: () => ({ n: 1n }) });
const refuses = defineTask({
  name: 'test.refuses',
  payload: z.unknown(),
  handler: () => {
    throw new NonRetryableError('this input can never work', 'BAD_INPUT');
  },
});

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({
    env: {
      RESULT_MAX_BYTES: String(RESULT_MAX_BYTES),
      RETENTION_MS: String(RETENTION_MS),
      QUEUE_RETENTION_MS: 'keep=600000',
      MAINTENANCE_INTERVAL_MS: '200',
      WORKER_QUEUES: 'default,keep',
    },
    tasks: [bigint, refuses],
  });
});
afterAll(() => app?.stop());

async function jobExists(jobId: string): Promise<boolean> {
  return (await execute(app.url, GetJob, { id: jobId })).job !== null;
}

describe('results', () => {
  it('fails a task whose result is larger than RESULT_MAX_BYTES with RESULT_TOO_LARGE, at once, keeping no result', async () => {
    const job = await submitOrThrow(app.url, {
      name: 'too large',
      tasks: [
        { type: 'demo.echo', payload: 'x'.repeat(RESULT_MAX_BYTES), maxAttempts: 3 },
        { type: 'demo.echo', payload: 'x'.repeat(RESULT_MAX_BYTES - 2), maxAttempts: 3 },
      ],
    });
    const [tooLarge, fits] = job.taskIds as [string, string];
    const failed = await waitForTask(app.url, tooLarge, (t) => t.status === 'FAILED');
    expect(failed.error).toEqual({ code: 'RESULT_TOO_LARGE', message: `The result is ${RESULT_MAX_BYTES + 2} bytes of JSON, more than RESULT_MAX_BYTES (${RESULT_MAX_BYTES})` });
    expect(failed.attempts).toHaveLength(1);
    expect(failed.result).toBeNull();
    // Exactly at the limit (the quotes count): kept.
    const [kept] = await waitForTasks(app.url, [fits], 'SUCCEEDED');
    expect(kept?.result).toBe('x'.repeat(RESULT_MAX_BYTES - 2));
  });

  it('counts multi-byte characters as the bytes they take', async () => {
    const job = await submitOrThrow(app.url, { name: 'wide', tasks: [{ type: 'demo.echo', payload: 'é'.repeat(600), maxAttempts: 1 }] });
    const failed = await waitForTask(app.url, job.taskIds[0]!, (t) => t.status === 'FAILED');
    expect(failed.error?.code).toBe('RESULT_TOO_LARGE');
  });

  it('fails a result JSON cannot carry with RESULT_NOT_JSON, and a NonRetryableError at once with its code', async () => {
    const job = await submitOrThrow(app.url, {
      name: 'not json',
      tasks: [
        { type: 'test.bigint', payload: null, maxAttempts: 3 },
        { type: 'test.refuses', payload: null, maxAttempts: 3 },
      ],
    });
    const [notJson, refused] = await waitForTasks(app.url, job.taskIds, 'FAILED');
    expect(notJson?.error?.code).toBe('RESULT_NOT_JSON');
    expect(refused?.error).toEqual({ code: 'BAD_INPUT', message: 'this input can never work' });
    expect([notJson?.attempts.length, refused?.attempts.length]).toEqual([1, 1]);
  });
});

describe('retention', () => {
  it('removes a finished job, its tasks and events once its queue retention has passed, and only that', async () => {
    const expiring = await submitOrThrow(app.url, { name: 'expiring', tasks: [{ type: 'demo.echo', payload: 1 }] });
    const kept = await submitOrThrow(app.url, { name: 'kept', queue: 'keep', tasks: [{ type: 'demo.echo', payload: 2 }] });
    // No worker serves `parked`: the job never finishes, and unfinished jobs are never removed.
    const unfinished = await submitOrThrow(app.url, { name: 'unfinished', queue: 'parked', tasks: [{ type: 'demo.echo', payload: 3 }] });
    const [done] = await waitForTasks(app.url, [expiring.taskIds[0]!, kept.taskIds[0]!], 'SUCCEEDED');
    const finishedAt = new Date(done!.attempts[0]!.finishedAt!).getTime();

    const deadline = Date.now() + 15_000;
    while (await jobExists(expiring.id)) {
      if (Date.now() > deadline) throw new Error('the expired job is still there');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Not before its time: the job was still there until RETENTION_MS after it finished.
    expect(Date.now() - finishedAt).toBeGreaterThanOrEqual(RETENTION_MS);
    expect((await execute(app.url, GetTask, { id: expiring.taskIds[0]! })).task).toBeNull();
    const rawId = (await app.db.selectFrom('jobs').select('id').where('name', '=', 'kept').executeTakeFirstOrThrow()).id;
    const events = await app.db.selectFrom('jobEvents').select('jobId').distinct().execute();
    expect(events.map((row) => row.jobId)).toContain(rawId);
    expect(await app.db.selectFrom('jobs').select('name').where('name', '=', 'expiring').execute()).toEqual([]);
    const orphans = await app.db.selectFrom('jobEvents').leftJoin('jobs', 'jobs.id', 'jobEvents.jobId').where('jobs.id', 'is', null).select('jobEvents.id').execute();
    expect(orphans).toEqual([]);

    expect(await jobExists(kept.id)).toBe(true);
    expect(await jobExists(unfinished.id)).toBe(true);
  });
});
