import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { execute, wsClient } from '../support/graphql-client.js';
import { submitOrThrow, watchJob } from '../support/job-operations.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { CancelJob, CancelTask, GetJob, GetTask, RetryTask } from '../graphql/operations.js';

let app: TestApp;
let ws: Client;

beforeAll(async () => {
  app = await startTestApp({ env: { WORKER_CONCURRENCY: '4' } });
  ws = wsClient(app.url);
});

afterAll(async () => {
  await ws?.dispose();
  await app?.stop();
});

describe('cancel and retry through the API', () => {
  it('cancelTask aborts a running task and leaves its sibling alone', async () => {
    const job = await submitOrThrow(app.url, {
      name: 'cancel-running',
      tasks: [
        { type: 'demo.sleep', payload: { ms: 20_000, steps: 200 } },
        { type: 'demo.sleep', payload: { ms: 600, steps: 2 } },
      ],
    });
    const [longId, shortId] = job.taskIds;
    const events = watchJob(ws, job.id);
    await events.waitFor((e) => e.type === 'TASK_PROGRESS' && e.task?.id === longId);

    const { cancelTask } = await execute(app.url, CancelTask, { id: longId ?? '' });
    expect(cancelTask).toMatchObject({ __typename: 'CancelTaskSuccess', task: { status: 'CANCELLED' } });
    const all = await events.done;

    expect(all.at(-1)?.jobStatus).toBe('PARTIALLY_SUCCEEDED');
    const cancelledAt = all.findIndex((e) => e.type === 'TASK_CANCELLED' && e.task?.id === longId);
    expect(cancelledAt).toBeGreaterThan(0);
    // The handler saw its signal: no progress from it after the cancel.
    expect(all.slice(cancelledAt).filter((e) => e.type === 'TASK_PROGRESS' && e.task?.id === longId)).toEqual([]);
    const { job: stored } = await execute(app.url, GetJob, { id: job.id });
    const byId = new Map(stored?.tasks.edges.map((e) => [e.node.id, e.node]));
    expect(byId.get(longId ?? '')?.status).toBe('CANCELLED');
    expect(byId.get(shortId ?? '')?.status).toBe('SUCCEEDED');
    // A cancelled attempt's late outcome is fenced off: the task stays CANCELLED.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await execute(app.url, GetTask, { id: longId ?? '' })).task?.status).toBe('CANCELLED');
  });

  it('cancelJob cancels every unfinished task, queued or running', async () => {
    const job = await submitOrThrow(app.url, {
      name: 'cancel-job',
      tasks: Array.from({ length: 8 }, () => ({ type: 'demo.sleep', payload: { ms: 20_000, steps: 20 } })),
    });
    const events = watchJob(ws, job.id);
    await events.waitFor((e) => e.type === 'TASK_STARTED');
    const { cancelJob } = await execute(app.url, CancelJob, { id: job.id });
    expect(cancelJob).toMatchObject({ __typename: 'CancelJobSuccess', job: { status: 'CANCELLED', taskCounts: { cancelled: 8, succeeded: 0 } } });
    const all = await events.done;
    expect(all.filter((e) => e.type === 'TASK_CANCELLED')).toHaveLength(8);
    expect(all.at(-1)?.jobStatus).toBe('CANCELLED');
  });

  it('retryTask re-runs a failed task with a fresh budget and moves its job back to RUNNING', async () => {
    const job = await submitOrThrow(app.url, {
      name: 'retry',
      tasks: [
        { type: 'demo.fail', payload: { times: 2 }, maxAttempts: 2 },
        { type: 'demo.echo', payload: 'sibling' },
      ],
    });
    const [failingId] = job.taskIds;
    expect((await watchJob(ws, job.id).done).at(-1)?.jobStatus).toBe('PARTIALLY_SUCCEEDED');

    const again = watchJob(ws, job.id);
    await again.waitFor(() => true);
    const { retryTask } = await execute(app.url, RetryTask, { id: failingId ?? '' });
    expect(retryTask).toMatchObject({ __typename: 'RetryTaskSuccess', task: { status: 'QUEUED', attempt: 2, job: { status: 'RUNNING' } } });
    const after = await watchJob(ws, job.id).done;
    expect(after.at(-1)?.jobStatus).toBe('SUCCEEDED');
    const { job: stored } = await execute(app.url, GetJob, { id: job.id });
    expect(stored?.tasks.edges[0]?.node).toMatchObject({ status: 'SUCCEEDED', attempt: 3, result: { succeededOnAttempt: 3 } });
    expect(stored?.tasks.edges[1]?.node).toMatchObject({ status: 'SUCCEEDED', attempt: 1 });
    again.unsubscribe();
  });
});
