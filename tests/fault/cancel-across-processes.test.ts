import { afterEach, describe, expect, it } from 'vitest';
import { CancelTask } from '../graphql/operations.js';
import { execute } from '../support/graphql-client.js';
import { submitOrThrow } from '../support/job-operations.js';
import { killAllJobQlProcesses, startJobQlProcess } from '../support/jobql-process.js';
import { waitForTask, waitForTasks } from '../support/task-polling.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { TEST_DATABASE_URL } from '../support/test-database.js';
import { TEST_REDIS_URL } from '../support/test-redis.js';

/**
 * The API in this process, the worker in another: a cancel sent to the API must reach the worker
 * process that runs the task and stop its handler there. The worker has one slot, a lease far
 * longer than the test (so a failed lease renewal cannot be what stops it) and a grace of 5 s for
 * handlers that honour their signal: a slot free again within a second or two can only mean the
 * cancel reached the handler through the bus.
 */

let api: TestApp | undefined;
afterEach(async () => {
  killAllJobQlProcesses();
  await api?.stop();
  api = undefined;
});

describe.each([
  ['postgres', {}],
  ['redis', { REDIS_URL: TEST_REDIS_URL }],
] as const)('cancelTask from the API process on the %s adapter', (adapter, adapterEnv) => {
  async function deploy(abortGraceMs: number): Promise<TestApp> {
    const env = { QUEUE_ADAPTER: adapter, ...adapterEnv, LEASE_MS: '600000', ABORT_GRACE_MS: String(abortGraceMs) };
    api = await startTestApp({ role: 'api', env });
    await startJobQlProcess('worker', { ...env, DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: api.schema, WORKER_CONCURRENCY: '1' });
    return api;
  }

  async function cancelRunning(app: TestApp, taskId: string): Promise<void> {
    const { cancelTask } = await execute(app.url, CancelTask, { id: taskId });
    expect(cancelTask).toMatchObject({ __typename: 'CancelTaskSuccess', task: { status: 'CANCELLED', job: { status: 'CANCELLED' } } });
  }

  it('stops a handler that honours its signal in the worker process within a second', { timeout: 60_000 }, async () => {
    const app = await deploy(5_000);
    const job = await submitOrThrow(app.url, { name: 'long sleep', tasks: [{ type: 'demo.sleep', payload: { ms: 100_000, steps: 1_000 } }] });
    const [taskId] = job.taskIds as [string];
    const running = await waitForTask(app.url, taskId, (t) => t.progress !== null, 30_000);
    expect(running.status).toBe('RUNNING');
    const next = await submitOrThrow(app.url, { name: 'next', tasks: [{ type: 'demo.echo', payload: 'freed' }] });

    const cancelledAt = Date.now();
    await cancelRunning(app, taskId);
    const [echo] = await waitForTasks(app.url, next.taskIds, 'SUCCEEDED', 10_000);
    const freedAfter = new Date(echo!.attempts[0]!.startedAt).getTime() - cancelledAt;
    console.info(`[cancel:${adapter}] a handler that honours its signal: the worker's slot ran the next task ${freedAfter} ms after cancelTask`);
    // The worker's one slot was freed by the handler stopping, not by the 5 s grace.
    expect(freedAfter).toBeLessThan(1_000);
    const cancelled = await waitForTask(app.url, taskId, () => true);
    expect(cancelled.status).toBe('CANCELLED');
    expect(cancelled.attempts.map((a) => a.status)).toEqual(['CANCELLED']);
  });

  it('stops an isolated handler that ignores its signal in the worker process at the grace', { timeout: 60_000 }, async () => {
    const graceMs = 500;
    const app = await deploy(graceMs);
    const job = await submitOrThrow(app.url, { name: 'long crunch', tasks: [{ type: 'demo.crunch', payload: { ms: 120_000 } }] });
    const [taskId] = job.taskIds as [string];
    await waitForTask(app.url, taskId, (t) => t.status === 'RUNNING', 30_000);
    const next = await submitOrThrow(app.url, { name: 'next', tasks: [{ type: 'demo.echo', payload: 'freed' }] });

    const cancelledAt = Date.now();
    await cancelRunning(app, taskId);
    const [echo] = await waitForTasks(app.url, next.taskIds, 'SUCCEEDED', 10_000);
    const freedAfter = new Date(echo!.attempts[0]!.startedAt).getTime() - cancelledAt;
    console.info(`[cancel:${adapter}] an isolated handler that ignores its signal: next task ${freedAfter} ms after cancelTask (grace ${graceMs} ms)`);
    expect(freedAfter).toBeGreaterThanOrEqual(graceMs - 50);
    expect(freedAfter).toBeLessThan(graceMs + 1_500);
  });
});
