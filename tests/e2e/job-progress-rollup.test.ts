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

/**
 * The job's fraction after each event, worked out by the client from the task events alone:
 * what every JOB_PROGRESS in the stream must say.
 */
function foldTaskEvents(events: readonly JobEvent[], tasksTotal: number): Map<string, number> {
  const share = new Map<string, number>();
  const expected = new Map<string, number>();
  for (const event of events) {
    const taskId = event.task?.id;
    if (taskId && event.type === 'TASK_SUCCEEDED') share.set(taskId, 1);
    else if (taskId && event.type === 'TASK_PROGRESS' && event.progress?.total) {
      share.set(taskId, Math.min(event.progress.current / event.progress.total, 0.999999));
    }
    else if (taskId && event.type !== 'TASK_PROGRESS') share.set(taskId, 0);
    expected.set(event.id, [...share.values()].reduce((sum, s) => sum + s, 0) / tasksTotal);
  }
  return expected;
}

describe('Job.progress and JOB_PROGRESS over GraphQL', () => {
  it('a job of demo.sleep tasks: JOB_PROGRESS rises to 100% before the final status, and Job.progress agrees', async () => {
    const TASKS = 4;
    const STEPS = 5;
    const job = await submitOrThrow(app.url, {
      name: 'rollup',
      tasks: Array.from({ length: TASKS }, (_, i) => ({ type: 'demo.sleep', payload: { ms: 200 + 100 * i, steps: STEPS } })),
    });
    const events = await watchJob(ws, job.id).done;

    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.at(-1)).toMatchObject({ type: 'JOB_STATUS_CHANGED', jobStatus: 'SUCCEEDED' });
    const rollUps = events.filter((e) => e.type === 'JOB_PROGRESS');
    // Every report moves some task's share, so there is one per report (fewer if reports coalesced).
    expect(rollUps.length).toBeGreaterThanOrEqual(TASKS);
    expect(rollUps.length).toBeLessThanOrEqual(TASKS * (STEPS + 1));
    const fractions = rollUps.map((e) => e.jobProgress?.fraction ?? -1);
    for (let i = 1; i < fractions.length; i++) expect(fractions[i]).toBeGreaterThan(fractions[i - 1] ?? 1);
    // 100% comes with the last success, in its transaction: just before the final status.
    expect(events.at(-2)).toMatchObject({ type: 'JOB_PROGRESS', jobProgress: { fraction: 1, percent: 100, tasksTotal: TASKS, tasksDone: TASKS } });
    expect(rollUps.every((e) => e.task === null && e.jobProgress?.tasksTotal === TASKS)).toBe(true);

    const expected = foldTaskEvents(events, TASKS);
    for (const event of rollUps) expect(event.jobProgress?.fraction).toBeCloseTo(expected.get(event.id) ?? -1, 5);
    expect(events.filter((e) => e.type !== 'JOB_PROGRESS').every((e) => e.jobProgress === null)).toBe(true);

    const { job: stored } = await execute(app.url, GetJob, { id: job.id });
    expect(stored?.progress).toEqual({
      fraction: 1,
      percent: 100,
      tasksTotal: TASKS,
      tasksDone: TASKS,
      tasksSucceeded: TASKS,
      taskCounts: { running: 0, succeeded: TASKS },
    });
  });

  it('Job.progress while the job runs is at least what the stream last said', async () => {
    const job = await submitOrThrow(app.url, { name: 'rollup-live', tasks: [{ type: 'demo.sleep', payload: { ms: 1_000, steps: 10 } }] });
    const watch = watchJob(ws, job.id);
    const seen = await watch.waitFor((e) => e.type === 'JOB_PROGRESS' && (e.jobProgress?.fraction ?? 0) >= 0.3);
    const { job: live } = await execute(app.url, GetJob, { id: job.id });
    expect(live?.progress.fraction).toBeGreaterThanOrEqual(seen.jobProgress?.fraction ?? 1);
    expect(live?.progress).toMatchObject({ tasksTotal: 1, tasksDone: 0 });
    await watch.done;
    expect((await execute(app.url, GetJob, { id: job.id })).job?.progress.percent).toBe(100);
  });

  it('a failed task counts as done but adds no progress: a half-failed job ends at 50%', async () => {
    const job = await submitOrThrow(app.url, {
      name: 'rollup-partial',
      tasks: [
        { type: 'demo.echo', payload: 'ok' },
        { type: 'demo.fail', payload: { times: 5 }, maxAttempts: 1 },
      ],
    });
    const events = await watchJob(ws, job.id).done;
    expect(events.at(-1)?.jobStatus).toBe('PARTIALLY_SUCCEEDED');
    expect(events.filter((e) => e.type === 'JOB_PROGRESS').map((e) => e.jobProgress?.percent)).toEqual([50]);
    const { job: stored } = await execute(app.url, GetJob, { id: job.id });
    expect(stored?.progress).toMatchObject({ fraction: 0.5, percent: 50, tasksTotal: 2, tasksDone: 2, tasksSucceeded: 1 });
  });
});
