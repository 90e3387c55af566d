import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelTask, GetJob, RetryTask, SubmitJob } from '../graphql/operations.js';
import type { SubmitJobInput } from '../graphql/generated/graphql.js';
import { execute } from '../support/graphql-client.js';
import { submitOrThrow } from '../support/job-operations.js';
import { taskDetail, waitForTask, waitForTasks, type TaskDetail } from '../support/task-polling.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { rowCounts } from '../support/test-database.js';
import { TEST_REDIS_URL } from '../support/test-redis.js';
import { collect, collectIsolated } from './fixtures/dependency-tasks.js';

const ms = (iso: string | null | undefined): number => new Date(iso ?? NaN).getTime();
const startOf = (task: TaskDetail): number => ms(task.attempts[0]?.startedAt);
const endOf = (task: TaskDetail): number => ms(task.attempts.at(-1)?.finishedAt);

async function jobStatus(app: TestApp, jobId: string): Promise<string | undefined> {
  return (await execute(app.url, GetJob, { id: jobId })).job?.status;
}

describe.each(['memory', 'postgres', 'redis'] as const)('dependencies on the %s adapter', (adapter) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { QUEUE_ADAPTER: adapter, REDIS_URL: TEST_REDIS_URL, WORKER_CONCURRENCY: '8' }, tasks: [collect, collectIsolated] });
  });
  afterAll(() => app?.stop());

  it('runs a chain in order, each task BLOCKED until the one before succeeded, reading its result', async () => {
    // Listed last first: the order comes from dependsOn, not from the list.
    const job = await submitOrThrow(app.url, {
      name: 'chain',
      tasks: [
        { type: 'test.collect', key: 'c', dependsOn: ['b'], payload: { n: 100 } },
        { type: 'test.collect', key: 'b', dependsOn: ['a'], payload: { n: 10 } },
        { type: 'test.collect', key: 'a', payload: { n: 1 } },
      ],
    });
    const [cId, bId, aId] = job.taskIds as [string, string, string];
    const submitted = await taskDetail(app.url, cId);
    expect(submitted).toMatchObject({ status: 'BLOCKED', pendingDependencies: 1, dependsOn: [{ key: 'b' }] });

    const [c, b, a] = await waitForTasks(app.url, [cId, bId, aId], 'SUCCEEDED');
    expect(startOf(b!)).toBeGreaterThanOrEqual(endOf(a!));
    expect(startOf(c!)).toBeGreaterThanOrEqual(endOf(b!));
    expect(b?.result).toEqual({ n: 10, saw: { a: { n: 1, saw: {}, total: 1 } }, total: 11 });
    expect(c?.result).toMatchObject({ n: 100, saw: { b: { total: 11 } }, total: 111 });
    expect(c?.pendingDependencies).toBe(0);
    expect(await jobStatus(app, job.id)).toBe('SUCCEEDED');
  });

  it('fans in: a task that depends on many starts after all of them and reads every result (isolated too)', async () => {
    const parts = Array.from({ length: 6 }, (_, i) => ({ type: 'test.collect', key: `part${i}`, payload: { n: i + 1 } }));
    const keys = parts.map((part) => part.key);
    const job = await submitOrThrow(app.url, {
      name: 'fan-in',
      tasks: [
        ...parts,
        { type: 'test.collect', key: 'sum', dependsOn: keys, payload: { n: 0 } },
        { type: 'test.collect-isolated', key: 'isolated', dependsOn: ['part0', 'part5'], payload: { n: -1 } },
      ],
    });
    const tasks = await waitForTasks(app.url, job.taskIds, 'SUCCEEDED');
    const sum = tasks[6]!;
    const latestPartEnd = Math.max(...tasks.slice(0, 6).map(endOf));
    expect(startOf(sum)).toBeGreaterThanOrEqual(latestPartEnd);
    expect(sum.result).toMatchObject({ total: 21 });
    expect(Object.keys((sum.result as { saw: object }).saw).sort()).toEqual([...keys].sort());
    expect(sum.dependsOn.map((d) => d.key)).toEqual(keys);
    expect(tasks[7]?.result).toEqual({ n: -1, saw: { part0: { n: 1, saw: {}, total: 1 }, part5: { n: 6, saw: {}, total: 6 } } });
  });

  it('cancels every task downstream of one that failed for good, with the reason; independent tasks run on', async () => {
    const job = await submitOrThrow(app.url, {
      name: 'failing upstream',
      tasks: [
        { type: 'demo.fail', key: 'flaky', payload: { times: 1 }, maxAttempts: 1 },
        { type: 'test.collect', key: 'middle', dependsOn: ['flaky'], payload: { n: 1 } },
        { type: 'test.collect', key: 'last', dependsOn: ['middle'], payload: { n: 2 } },
        { type: 'test.collect', key: 'free', payload: { n: 3 } },
      ],
    });
    const [flakyId, middleId, lastId, freeId] = job.taskIds as [string, string, string, string];
    await waitForTask(app.url, flakyId, (t) => t.status === 'FAILED');
    const [middle, last] = await waitForTasks(app.url, [middleId, lastId], 'CANCELLED');
    for (const task of [middle!, last!]) {
      expect(task.attempts).toEqual([]);
      expect(task.error).toEqual({ code: 'DEPENDENCY_FAILED', message: 'Cancelled: task "flaky", which it depends on, ended FAILED' });
    }
    await waitForTasks(app.url, [freeId], 'SUCCEEDED');
    expect(await jobStatus(app, job.id)).toBe('PARTIALLY_SUCCEEDED');

    // Retrying a dependant first is refused; retrying upstream, then the dependants, runs them all.
    const refused = (await execute(app.url, RetryTask, { id: middleId })).retryTask;
    expect(refused).toMatchObject({ __typename: 'InvalidStateError', message: expect.stringMatching(/depends on task "flaky", which is FAILED: retry that one first/) });
    expect((await execute(app.url, RetryTask, { id: flakyId })).retryTask).toMatchObject({ __typename: 'RetryTaskSuccess' });
    for (const id of [middleId, lastId]) {
      const retried = (await execute(app.url, RetryTask, { id })).retryTask;
      expect(retried.__typename).toBe('RetryTaskSuccess');
      if (retried.__typename === 'RetryTaskSuccess') expect(['BLOCKED', 'QUEUED']).toContain(retried.task.status);
    }
    await waitForTasks(app.url, [flakyId, middleId, lastId], 'SUCCEEDED');
    expect(await jobStatus(app, job.id)).toBe('SUCCEEDED');
  });

  it('cancelTask on a task that others wait for cancels them too; a BLOCKED task can itself be cancelled', async () => {
    const job = await submitOrThrow(app.url, {
      name: 'cancel upstream',
      tasks: [
        // No worker serves `parked`: the dependency waits, and its dependants stay BLOCKED.
        { type: 'test.collect', key: 'parked', queue: 'parked', payload: { n: 1 } },
        { type: 'test.collect', key: 'next', dependsOn: ['parked'], payload: { n: 2 } },
        { type: 'test.collect', key: 'alone', dependsOn: ['parked'], payload: { n: 3 } },
      ],
    });
    const [parkedId, nextId, aloneId] = job.taskIds as [string, string, string];
    expect((await taskDetail(app.url, nextId)).status).toBe('BLOCKED');
    const { job: blocked } = await execute(app.url, GetJob, { id: job.id });
    expect(blocked?.taskCounts).toMatchObject({ blocked: 2, queued: 1 });

    expect((await execute(app.url, CancelTask, { id: aloneId })).cancelTask).toMatchObject({ task: { status: 'CANCELLED' } });
    expect((await taskDetail(app.url, nextId)).status).toBe('BLOCKED');
    expect((await execute(app.url, CancelTask, { id: parkedId })).cancelTask).toMatchObject({ task: { status: 'CANCELLED' } });
    const next = await taskDetail(app.url, nextId);
    expect(next.status).toBe('CANCELLED');
    expect(next.error?.code).toBe('DEPENDENCY_CANCELLED');
    expect(await jobStatus(app, job.id)).toBe('CANCELLED');
  });
});

describe('dependencies that cannot be', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ role: 'api', tasks: [collect] });
  });
  afterAll(() => app?.stop());

  it.each<[string, SubmitJobInput['tasks'], { path: string; message: RegExp }[]]>([
    [
      'an unknown key',
      [{ type: 'test.collect', payload: { n: 1 }, dependsOn: ['ghost'] }],
      [{ path: 'tasks.0.dependsOn.0', message: /no task of this job has the key "ghost"/ }],
    ],
    [
      'a cycle',
      [
        { type: 'test.collect', key: 'a', payload: { n: 1 }, dependsOn: ['b'] },
        { type: 'test.collect', key: 'b', payload: { n: 1 }, dependsOn: ['a'] },
      ],
      [{ path: 'tasks.0.dependsOn', message: /dependencies form a cycle: "a" → "b" → "a"/ }],
    ],
    [
      'a key used twice',
      [
        { type: 'test.collect', key: 'a', payload: { n: 1 } },
        { type: 'test.collect', key: 'a', payload: { n: 1 } },
      ],
      [{ path: 'tasks.1.key', message: /already the key of task 0/ }],
    ],
  ])('refuses %s with a ValidationError and writes nothing', async (_name, tasks, expected) => {
    const before = await rowCounts(app.db);
    const { submitJob } = await execute(app.url, SubmitJob, { input: { name: 'bad graph', tasks } });
    expect(submitJob.__typename).toBe('ValidationError');
    if (submitJob.__typename !== 'ValidationError') return;
    expect(submitJob.details).toEqual(expected.map((issue) => ({ path: issue.path, message: expect.stringMatching(issue.message) })));
    expect(await rowCounts(app.db)).toEqual(before);
  });
});
