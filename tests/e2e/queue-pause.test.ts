import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../../src/tasks/define-task.js';
import { PauseQueue, Queues, ResumeQueue, Workers } from '../graphql/operations.js';
import { execute } from '../support/graphql-client.js';
import { submitOrThrow } from '../support/job-operations.js';
import { waitForTasks } from '../support/task-polling.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { TEST_REDIS_URL } from '../support/test-redis.js';

/**
 * A pause on one queue, on each adapter: from the pause's answer no attempt of that queue starts
 * (checked from the attempts' start times in the store), the running ones finish, submits are
 * accepted and wait, workers that start meanwhile (three in all on the distributed adapters)
 * leave them alone, and the resume runs them all. The queue and the workers show it.
 */

const nap = defineTask({
  name: 'test.nap',
  payload: z.object({ ms: z.number() }),
  handler: ({ payload }) => new Promise((resolve) => setTimeout(() => resolve('rested'), payload.ms)),
});

const ADAPTERS = [
  // memory delivers inside one process: it has no second worker to start.
  { adapter: 'memory', env: { QUEUE_ADAPTER: 'memory' }, secondWorker: false },
  { adapter: 'postgres', env: { QUEUE_ADAPTER: 'postgres' }, secondWorker: true },
  { adapter: 'redis', env: { QUEUE_ADAPTER: 'redis', REDIS_URL: TEST_REDIS_URL }, secondWorker: true },
] as const;

const apps: TestApp[] = [];
afterEach(async () => {
  for (const app of apps.splice(0).reverse()) await app.stop();
});

async function attemptStarts(app: TestApp): Promise<Date[]> {
  const { rows } = await sql<{ startedAt: Date }>`
    select a.started_at from task_attempts a join tasks t on t.id = a.task_id where t.queue = 'naps' order by a.started_at`.execute(app.db);
  return rows.map((row) => row.startedAt);
}

describe.each(ADAPTERS)('pausing a queue on $adapter', ({ adapter, env, secondWorker }) => {
  it('stops every start from the pause on, keeps submits waiting, and runs them on resume', async () => {
    const common = { ...env, WORKER_QUEUES: 'naps,default', WORKER_CONCURRENCY: '4', RECONCILE_INTERVAL_MS: '60000' };
    const app = await startTestApp({ env: common, tasks: [nap] });
    apps.push(app);
    const tasks = Array.from({ length: 40 }, () => ({ type: 'test.nap', queue: 'naps', payload: { ms: 40 } }));
    const first = await submitOrThrow(app.url, { name: 'naps', tasks });
    await expect.poll(async () => (await attemptStarts(app)).length, { timeout: 10_000, interval: 10 }).toBeGreaterThanOrEqual(4);

    const paused = await execute(app.url, PauseQueue, { name: 'naps' });
    const pausedAnswerAt = Date.now();
    expect(paused.pauseQueue).toMatchObject({ __typename: 'PauseQueueSuccess', queue: { name: 'naps', paused: true } });

    const second = await submitOrThrow(app.url, { name: 'more naps', tasks: tasks.slice(0, 5) });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const starts = await attemptStarts(app);
    const late = starts.filter((at) => at.getTime() > pausedAnswerAt);
    expect(late, `attempts started after the pause answered (${adapter})`).toEqual([]);
    expect(starts.length).toBeLessThan(40);
    const { rows: states } = await sql<{ status: string; n: number }>`
      select status, count(*)::int as n from tasks where queue = 'naps' group by status`.execute(app.db);
    expect(states.find((row) => row.status === 'RUNNING')).toBeUndefined(); // the running ones finished

    // Workers that start while the queue is paused leave its tasks alone too: three in all.
    const lateWorkers = secondWorker
      ? await Promise.all([0, 1].map(() => startTestApp({ env: common, tasks: [nap], schema: app.schema, role: 'worker' })))
      : [];
    apps.push(...lateWorkers);
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect((await attemptStarts(app)).filter((at) => at.getTime() > pausedAnswerAt)).toEqual([]);
    const workersServing = 1 + lateWorkers.length;

    const { queues } = await execute(app.url, Queues, {});
    const naps = queues.find((queue) => queue.name === 'naps');
    expect(naps).toMatchObject({ paused: true, workersAlive: workersServing, unserved: false });
    expect(naps?.oldestQueuedAt).not.toBeNull();
    const { workers } = await execute(app.url, Workers, {});
    expect(workers.filter((worker) => worker.state === 'ALIVE')).toHaveLength(workersServing);
    expect(workers[0]?.queues.map((queue) => queue.name).sort()).toEqual(['default', 'naps']);

    const resumed = await execute(app.url, ResumeQueue, { name: 'naps' });
    expect(resumed.resumeQueue).toMatchObject({ __typename: 'ResumeQueueSuccess', queue: { paused: false } });
    await waitForTasks(app.url, [...first.taskIds, ...second.taskIds], 'SUCCEEDED', 20_000);

    const stopping = lateWorkers[0];
    if (stopping) {
      await stopping.stop();
      apps.splice(apps.indexOf(stopping), 1);
      const after = await execute(app.url, Workers, {});
      expect(after.workers.map((worker) => worker.state).sort()).toEqual(['ALIVE', 'ALIVE', 'STOPPED']);
    }
  });
});

describe('queues and their controls', () => {
  it("show the attempts started, finished and failed in the last minute and hour, from the workers' heartbeats", async () => {
    const app = await startTestApp({ env: { QUEUE_ADAPTER: 'postgres' } });
    apps.push(app);
    const job = await submitOrThrow(app.url, {
      name: 'counted',
      tasks: [...Array.from({ length: 10 }, (_, n) => ({ type: 'demo.echo', payload: n })), { type: 'demo.fail', payload: { times: 1 } }],
    });
    await waitForTasks(app.url, job.taskIds, 'SUCCEEDED', 10_000);
    // Eleven tasks, one of them failing once: twelve attempts, one failed.
    const expected = { started: 12, finished: 12, failed: 1 };
    await expect
      .poll(async () => (await execute(app.url, Queues, {})).queues.find((queue) => queue.name === 'default'), { timeout: 5_000 })
      .toMatchObject({ lastMinute: expected, lastHour: expected });
  });

  it('flags a queue with waiting tasks that no live worker serves, and refuses a bad name', async () => {
    const app = await startTestApp({ env: { QUEUE_ADAPTER: 'postgres' }, tasks: [nap] });
    apps.push(app);
    await submitOrThrow(app.url, { name: 'orphan', tasks: [{ type: 'test.nap', queue: 'nobody-serves-this', payload: { ms: 1 } }] });
    const { queues } = await execute(app.url, Queues, {});
    expect(queues.find((queue) => queue.name === 'nobody-serves-this')).toMatchObject({ unserved: true, workersAlive: 0, paused: false, queued: 1, running: 0 });
    expect(queues.find((queue) => queue.name === 'default')).toMatchObject({ unserved: false, workersAlive: 1 });
    const bad = await execute(app.url, PauseQueue, { name: ' no spaces' });
    expect(bad.pauseQueue).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION_FAILED' });
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from queue_controls`.execute(app.db);
    expect(rows[0]?.n).toBe(0);
  });
});
