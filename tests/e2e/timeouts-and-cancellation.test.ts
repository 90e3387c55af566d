import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelTask, GetJob } from '../graphql/operations.js';
import { execute } from '../support/graphql-client.js';
import { submitOrThrow } from '../support/job-operations.js';
import { waitForTask, waitForTasks, type TaskDetail } from '../support/task-polling.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { TEST_REDIS_URL } from '../support/test-redis.js';
import { doubles, hiddenTasks, ignoresSignal, spins } from './fixtures/stubborn-tasks.js';

const TIMEOUT_MS = 400;
const GRACE_MS = 400;
/** A loaded machine runs late, never early: the upper bounds leave room for it. */
const SLACK_MS = 1_500;
const SPIN_TIMEOUT_MS = 3_000;

const ms = (iso: string): number => new Date(iso).getTime();
const durationOf = (attempt: TaskDetail['attempts'][number]): number => ms(attempt.finishedAt!) - ms(attempt.startedAt);

/** CPU time this process used over `windowMs`: a spinning thread left behind would use nearly all of it. */
async function cpuMsOver(windowMs: number): Promise<number> {
  const before = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1_000;
}

describe.each(['memory', 'postgres', 'redis'] as const)('timeouts and cancellation on the %s adapter', (adapter) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({
      // One slot: a task that runs after a stuck one proves the stuck one's slot was freed.
      env: { QUEUE_ADAPTER: adapter, REDIS_URL: TEST_REDIS_URL, WORKER_CONCURRENCY: '1', ABORT_GRACE_MS: String(GRACE_MS) },
      tasks: [ignoresSignal, spins, doubles, hiddenTasks.hidden],
    });
  });
  afterAll(() => app?.stop());

  it('frees the slot of a handler that ignores its signal at timeout + grace, FAILED with TIMEOUT, and retries it', async () => {
    const job = await submitOrThrow(app.url, {
      name: 'ignores its signal',
      tasks: [{ type: 'test.ignores-signal', payload: { ms: 30_000 }, timeoutMs: TIMEOUT_MS, maxAttempts: 2 }],
    });
    const next = await submitOrThrow(app.url, { name: 'next in line', tasks: [{ type: 'demo.echo', payload: 'ran' }] });
    const task = await waitForTask(app.url, job.taskIds[0]!, (t) => t.status === 'FAILED');
    expect(task.error).toMatchObject({ code: 'TIMEOUT' });
    expect(task.attempts.map((a) => [a.number, a.status, a.error?.code])).toEqual([
      [1, 'FAILED', 'TIMEOUT'],
      [2, 'FAILED', 'TIMEOUT'],
    ]);
    console.info(`[timeout:${adapter}] a handler that ignores its signal: attempts ended after ${task.attempts.map(durationOf).join(', ')} ms (timeout ${TIMEOUT_MS} + grace ${GRACE_MS})`);
    for (const attempt of task.attempts) {
      expect(durationOf(attempt)).toBeGreaterThanOrEqual(TIMEOUT_MS + GRACE_MS - 5);
      expect(durationOf(attempt)).toBeLessThan(TIMEOUT_MS + GRACE_MS + SLACK_MS);
    }
    // The one slot was free again long before the ignored 30 s wait could have ended.
    const [echo] = await waitForTasks(app.url, next.taskIds, 'SUCCEEDED', 10_000);
    expect(echo?.result).toBe('ran');
  });

  it('ends a handler that honours its signal at the timeout, without waiting out the grace', async () => {
    const job = await submitOrThrow(app.url, {
      name: 'honours its signal',
      tasks: [{ type: 'demo.sleep', payload: { ms: 30_000, steps: 300 }, timeoutMs: TIMEOUT_MS, maxAttempts: 1 }],
    });
    const task = await waitForTask(app.url, job.taskIds[0]!, (t) => t.status === 'FAILED');
    console.info(`[timeout:${adapter}] a handler that honours its signal: attempt ended after ${durationOf(task.attempts[0]!)} ms (timeout ${TIMEOUT_MS})`);
    expect(task.attempts.map((a) => a.error?.code)).toEqual(['TIMEOUT']);
    expect(durationOf(task.attempts[0]!)).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(durationOf(task.attempts[0]!)).toBeLessThan(TIMEOUT_MS + GRACE_MS);
  });

  it('terminates the thread of an isolated handler spinning the CPU at timeout + grace; the API answers meanwhile', async () => {
    const job = await submitOrThrow(app.url, {
      name: 'spins',
      // Long enough for a cold thread to start (tsx from source) and report before the deadline.
      tasks: [{ type: 'test.spins', payload: { ms: 60_000 }, timeoutMs: SPIN_TIMEOUT_MS, maxAttempts: 1 }],
    });
    const running = await waitForTask(app.url, job.taskIds[0]!, (t) => t.progress?.message === 'spinning');
    expect(running.status).toBe('RUNNING');
    // The spin is in its own thread: this process still answers at once.
    const askedAt = Date.now();
    await execute(app.url, GetJob, { id: job.id });
    expect(Date.now() - askedAt).toBeLessThan(500);

    const task = await waitForTask(app.url, job.taskIds[0]!, (t) => t.status === 'FAILED');
    expect(task.attempts.map((a) => [a.status, a.error?.code])).toEqual([['FAILED', 'TIMEOUT']]);
    expect(durationOf(task.attempts[0]!)).toBeGreaterThanOrEqual(SPIN_TIMEOUT_MS + GRACE_MS - 5);
    expect(durationOf(task.attempts[0]!)).toBeLessThan(SPIN_TIMEOUT_MS + GRACE_MS + SLACK_MS);
    // Terminated, not detached: nothing spins on (a spinning thread would use ~1,000 ms of the second).
    expect(await cpuMsOver(1_000)).toBeLessThan(500);
  });

  it('cancels a running isolated handler that ignores its signal: CANCELLED at once, thread stopped, slot free', async () => {
    const job = await submitOrThrow(app.url, { name: 'cancel a spin', tasks: [{ type: 'test.spins', payload: { ms: 60_000 } }] });
    const [taskId] = job.taskIds as [string];
    await waitForTask(app.url, taskId, (t) => t.progress?.message === 'spinning');
    const next = await submitOrThrow(app.url, { name: 'after the spin', tasks: [{ type: 'demo.echo', payload: 'after' }] });

    const cancelledAt = Date.now();
    const { cancelTask } = await execute(app.url, CancelTask, { id: taskId });
    expect(cancelTask).toMatchObject({ __typename: 'CancelTaskSuccess', task: { status: 'CANCELLED', job: { status: 'CANCELLED' } } });
    const task = await waitForTask(app.url, taskId, (t) => t.attempts[0]?.status === 'CANCELLED');
    expect(Date.now() - cancelledAt).toBeLessThan(1_000);
    expect(task.status).toBe('CANCELLED');

    await waitForTasks(app.url, next.taskIds, 'SUCCEEDED', GRACE_MS + SLACK_MS + 1_000);
    expect(await cpuMsOver(1_000)).toBeLessThan(500);
  });

  it('runs an isolated handler in a thread: its result, progress and attempt come back as from any handler', async () => {
    const job = await submitOrThrow(app.url, { name: 'isolated', tasks: [{ type: 'test.doubles', payload: { n: 21 } }] });
    const [task] = await waitForTasks(app.url, job.taskIds, 'SUCCEEDED');
    expect(task?.result).toEqual({ doubled: 42, attempt: 1, aborted: false });
    expect(task?.progress).toEqual({ current: 1, total: 1, message: 'doubled' });
  });

  it('fails an isolated task whose module does not export its definition, with ISOLATED_HANDLER_NOT_FOUND', async () => {
    const job = await submitOrThrow(app.url, { name: 'hidden', tasks: [{ type: 'test.hidden', payload: null, maxAttempts: 1 }] });
    const task = await waitForTask(app.url, job.taskIds[0]!, (t) => t.status === 'FAILED');
    expect(task.error?.code).toBe('ISOLATED_HANDLER_NOT_FOUND');
    expect(task.error?.message).toMatch(/exports no task definition named test\.hidden/);
  });
});
