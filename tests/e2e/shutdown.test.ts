import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../../src/tasks/define-task.js';
import { dropSchema, newSchemaName } from '../support/test-database.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/** Sleeps `ms`; with `ignoreSignal` it goes on even when its attempt is aborted. */
const nap = defineTask({
  name: 'test.nap',
  payload: z.object({ ms: z.number(), ignoreSignal: z.boolean().default(false) }),
  handler: async ({ payload, signal }) => {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, payload.ms);
      if (!payload.ignoreSignal) signal.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
    });
    return { napped: payload.ms };
  },
});

const apps: TestApp[] = [];
let schema: string | undefined;
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop()));
  if (schema) await dropSchema(schema);
  schema = undefined;
});

async function waitUntil(condition: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('worker stop', () => {
  it('lets short tasks finish, hands long ones back within the grace period, and another worker runs them', async () => {
    const env = { SHUTDOWN_GRACE_MS: '500', WORKER_CONCURRENCY: '4' };
    schema = newSchemaName('shutdown');
    const first = await startTestApp({ env, tasks: [nap], schema });
    const job = await first.service.submitJob({ tenant: 'default' }, {
      name: 'shutdown',
      tasks: [
        { type: 'test.nap', payload: { ms: 200 } },
        { type: 'test.nap', payload: { ms: 4_000 } },
        { type: 'test.nap', payload: { ms: 4_000, ignoreSignal: true } },
      ],
    });
    const tasks = () => first.db.selectFrom('tasks').selectAll().where('jobId', '=', job.id).orderBy('position').execute();
    await waitUntil(async () => (await tasks()).every((t) => t.status === 'RUNNING'), 'all three running');

    const stopStarted = Date.now();
    await first.stop();
    const stopMs = Date.now() - stopStarted;
    const second = await startTestApp({ env, tasks: [nap], schema: first.schema });
    apps.push(second);
    const [short, long, stubborn] = await second.db.selectFrom('tasks').selectAll().where('jobId', '=', job.id).orderBy('position').execute();

    expect(stopMs).toBeLessThan(3_000); // the grace, not the 4 s tasks, bounds the stop
    expect(short).toMatchObject({ status: 'SUCCEEDED', attempt: 1 });
    for (const handedBack of [long, stubborn]) {
      // Back in the queue (or already taken by the second worker), the interrupted attempt not counted.
      expect(handedBack?.attemptBase).toBe(1);
    }
    // The attempt rows keep why they ended; the task's own error is cleared once the second worker claims it.
    const firstAttempts = await second.db
      .selectFrom('taskAttempts')
      .select(['taskId', 'number', 'status', 'error'])
      .where('taskId', 'in', [long!.id, stubborn!.id])
      .where('number', '=', 1)
      .execute();
    expect(firstAttempts.map((a) => a.status)).toEqual(['FAILED', 'FAILED']);
    for (const attempt of firstAttempts) expect(attempt.error).toMatchObject({ code: 'SHUTDOWN' });

    await waitUntil(
      async () => (await second.db.selectFrom('jobs').select('status').where('id', '=', job.id).executeTakeFirstOrThrow()).status === 'SUCCEEDED',
      'the job to succeed on the second worker',
      15_000,
    );
    const finalTasks = await second.db.selectFrom('tasks').select(['attempt', 'status']).where('jobId', '=', job.id).orderBy('position').execute();
    expect(finalTasks).toEqual([
      { attempt: 1, status: 'SUCCEEDED' },
      { attempt: 2, status: 'SUCCEEDED' },
      { attempt: 2, status: 'SUCCEEDED' },
    ]);
  });
});
