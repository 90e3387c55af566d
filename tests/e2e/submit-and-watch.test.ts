import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { execute, wsClient } from '../support/graphql-client.js';
import { submitOrThrow, watchJob } from '../support/job-operations.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { GetJob } from '../graphql/operations.js';
import type { JobProgressSubscription } from '../graphql/generated/graphql.js';

type JobEvent = JobProgressSubscription['jobProgress'];

let app: TestApp;
let ws: Client;

beforeAll(async () => {
  app = await startTestApp();
  ws = wsClient(app.url);
});

afterAll(async () => {
  await ws?.dispose();
  await app?.stop();
});

function expectGapless(events: readonly JobEvent[], firstSeq = 1): void {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => firstSeq + i));
}

describe('submit a job over HTTP and watch it over graphql-ws', () => {
  it('streams every event in order, without gaps, and completes when the job is final', async () => {
    const job = await submitOrThrow(app.url, {
      name: 'walkthrough',
      tasks: [
        { type: 'demo.sleep', payload: { ms: 300, steps: 3 } },
        { type: 'demo.echo', payload: { hello: ['world', 1] } },
        { type: 'demo.fail', payload: { times: 1 } },
      ],
    });
    const events = await watchJob(ws, job.id).done;

    expectGapless(events);
    const types = events.map((e) => e.type);
    expect(types.slice(0, 4)).toEqual(['TASK_QUEUED', 'TASK_QUEUED', 'TASK_QUEUED', 'JOB_STATUS_CHANGED']);
    expect(events[3]?.jobStatus).toBe('QUEUED');
    expect(events.at(-1)).toMatchObject({ type: 'JOB_STATUS_CHANGED', jobStatus: 'SUCCEEDED' });
    expect(events.filter((e) => e.type === 'JOB_STATUS_CHANGED').map((e) => e.jobStatus)).toEqual(['QUEUED', 'RUNNING', 'SUCCEEDED']);

    const [sleepId, echoId, failId] = job.taskIds;
    const ofTask = (id: string | undefined) => events.filter((e) => e.task?.id === id).map((e) => e.type);
    expect(ofTask(sleepId)).toEqual(['TASK_QUEUED', 'TASK_STARTED', 'TASK_PROGRESS', 'TASK_PROGRESS', 'TASK_PROGRESS', 'TASK_SUCCEEDED']);
    expect(ofTask(echoId)).toEqual(['TASK_QUEUED', 'TASK_STARTED', 'TASK_SUCCEEDED']);
    expect(ofTask(failId)).toEqual(['TASK_QUEUED', 'TASK_STARTED', 'TASK_RETRY_SCHEDULED', 'TASK_STARTED', 'TASK_SUCCEEDED']);
    const progress = events.filter((e) => e.type === 'TASK_PROGRESS').map((e) => e.progress);
    expect(progress).toEqual([
      { current: 1, total: 3, percent: 33.3, message: 'step 1 of 3' },
      { current: 2, total: 3, percent: 66.7, message: 'step 2 of 3' },
      { current: 3, total: 3, percent: 100, message: 'step 3 of 3' },
    ]);

    const { job: stored } = await execute(app.url, GetJob, { id: job.id });
    expect(stored?.status).toBe('SUCCEEDED');
    expect(stored?.taskCounts).toEqual({ blocked: 0, queued: 0, running: 0, succeeded: 3, failed: 0, cancelled: 0 });
    const tasks = stored?.tasks.edges.map((e) => e.node) ?? [];
    expect(tasks.map((t) => t.result)).toEqual([{ sleptMs: 300 }, { hello: ['world', 1] }, { succeededOnAttempt: 2 }]);
    expect(tasks[2]).toMatchObject({ attempt: 2, maxAttempts: 3 });
  });

  it('replays only the events after `after`, then completes', async () => {
    const job = await submitOrThrow(app.url, { name: 'replay', tasks: [{ type: 'demo.sleep', payload: { ms: 100, steps: 4 } }] });
    const all = await watchJob(ws, job.id).done;
    const cut = 4;
    const resumed = await watchJob(ws, job.id, all[cut - 1]?.id).done;
    expect(resumed).toEqual(all.slice(cut).map((e) => ({ ...e, task: resumed.find((r) => r.id === e.id)?.task ?? null })));
    expectGapless(resumed, cut + 1);
    // Resuming after the final event completes at once with nothing.
    expect(await watchJob(ws, job.id, all.at(-1)?.id).done).toEqual([]);
  });

  it('a client that drops mid-job and resumes with `after` misses nothing', async () => {
    const job = await submitOrThrow(app.url, { name: 'reconnect', tasks: [{ type: 'demo.sleep', payload: { ms: 1_500, steps: 15 } }] });
    const first = watchJob(ws, job.id);
    const lastSeen = await first.waitFor((e) => e.type === 'TASK_PROGRESS' && e.progress?.current === 3);
    first.unsubscribe();
    const before = first.events.slice(0, first.events.indexOf(lastSeen) + 1);

    const rest = await watchJob(ws, job.id, lastSeen.id).done;
    const combined = [...before, ...rest];
    expectGapless(combined);
    expect(combined.at(-1)).toMatchObject({ type: 'JOB_STATUS_CHANGED', jobStatus: 'SUCCEEDED' });
    expect(combined.filter((e) => e.type === 'TASK_PROGRESS').map((e) => e.progress?.current)).toEqual(
      Array.from({ length: 15 }, (_, i) => i + 1),
    );
  });

  it('ends a job whose tasks all fail as FAILED and a mixed one as PARTIALLY_SUCCEEDED', async () => {
    const failed = await submitOrThrow(app.url, { name: 'fails', tasks: [{ type: 'demo.fail', payload: { times: 5, message: 'boom' }, maxAttempts: 2 }] });
    const mixed = await submitOrThrow(app.url, {
      name: 'mixed',
      tasks: [
        { type: 'demo.echo', payload: 1 },
        { type: 'demo.fail', payload: { times: 5 }, maxAttempts: 1 },
      ],
    });
    const failedEvents = await watchJob(ws, failed.id).done;
    expect(failedEvents.at(-1)?.jobStatus).toBe('FAILED');
    expect(failedEvents.filter((e) => e.type === 'TASK_RETRY_SCHEDULED')).toHaveLength(1);
    expect(failedEvents.find((e) => e.type === 'TASK_FAILED')?.message).toBe('boom (attempt 2)');
    expect((await watchJob(ws, mixed.id).done).at(-1)?.jobStatus).toBe('PARTIALLY_SUCCEEDED');

    const { job } = await execute(app.url, GetJob, { id: failed.id });
    expect(job?.tasks.edges[0]?.node).toMatchObject({ status: 'FAILED', attempt: 2, error: { message: 'boom (attempt 2)', code: 'HANDLER_ERROR' } });
  });
});
