import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../../src/tasks/define-task.js';
import { killAllJobQlProcesses, startJobQlProcess } from '../support/jobql-process.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { TEST_DATABASE_URL } from '../support/test-database.js';

/** Blocks the event loop, as CPU-bound work does, for `ms`. */
const crunch = defineTask({
  name: 'test.crunch',
  payload: z.object({ ms: z.number() }),
  handler: ({ payload }) => {
    const until = Date.now() + payload.ms;
    let spins = 0;
    while (Date.now() < until) spins += 1;
    return { spins };
  },
});

let app: TestApp | undefined;
afterEach(async () => {
  killAllJobQlProcesses();
  await app?.stop();
  app = undefined;
});

describe('a handler that blocks the event loop', () => {
  it('keeps its lease for three lease periods, while another process reaps, and runs once', { timeout: 60_000 }, async () => {
    const env = { LEASE_MS: '1000', REAPER_INTERVAL_MS: '100' };
    app = await startTestApp({ env, tasks: [crunch] });
    // Another worker process, whose reaper runs while this process is blocked.
    await startJobQlProcess('worker', { ...env, DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: app.schema, WORKER_QUEUES: 'elsewhere' });
    const job = await app.service.submitJob({ tenant: 'default' }, { name: 'busy', tasks: [{ type: 'test.crunch', payload: { ms: 3_500 } }] });
    const deadline = Date.now() + 20_000;
    let status = job.status;
    while (status !== 'SUCCEEDED' && status !== 'FAILED' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = (await app.db.selectFrom('jobs').select('status').where('id', '=', job.id).executeTakeFirstOrThrow()).status;
    }
    const attempts = await app.db.selectFrom('taskAttempts').innerJoin('tasks', 'tasks.id', 'taskAttempts.taskId').select(['number', 'taskAttempts.status', 'taskAttempts.error']).where('tasks.jobId', '=', job.id).execute();
    expect(status).toBe('SUCCEEDED');
    expect(attempts).toEqual([{ number: 1, status: 'SUCCEEDED', error: null }]);
  });
});
