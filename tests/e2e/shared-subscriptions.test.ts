import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { z } from 'zod';
import { defineTask } from '../../src/tasks/define-task.js';
import { subscribe, wsClient } from '../support/graphql-client.js';
import { submitOrThrow, watchJob } from '../support/job-operations.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { JobProgressStatuses } from '../graphql/operations.js';

const STEPS = 3;
let release: () => void = () => {};
const gate = new Promise<void>((resolve) => (release = resolve));
const reporter = defineTask({
  name: 'test.gated-reporter',
  payload: z.object({ steps: z.number() }),
  async handler({ payload, progress }) {
    await gate;
    for (let i = 1; i <= payload.steps; i++) {
      await progress(i, payload.steps, `step ${i}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return { steps: payload.steps };
  },
});

let app: TestApp;
let ws: Client;
let counting = false;
let taskLoads = 0;
let jobReads = 0;

beforeAll(async () => {
  app = await startTestApp({
    tasks: [reporter],
    onQuery: (event) => {
      // JobEvent.task's loader: the one read an event's execution makes here.
      if (counting && /^select \* from "tasks" where "id" in/.test(event.query.sql)) taskLoads += 1;
      if (/^select \* from "jobs" where "id" in/.test(event.query.sql)) jobReads += 1;
    },
  });
  ws = wsClient(app.url);
});

afterAll(async () => {
  release();
  await ws?.dispose();
  await app?.stop();
});

describe('subscribers of one job share the execution of its live events', () => {
  it('runs each live event once per document, and every subscriber gets the same stream', async () => {
    const job = await submitOrThrow(app.url, { name: 'watched', tasks: [{ type: 'test.gated-reporter', payload: { steps: STEPS } }] });
    jobReads = 0;
    const full = [watchJob(ws, job.id), watchJob(ws, job.id), watchJob(ws, job.id)];
    const brief = subscribe(ws, JobProgressStatuses, { jobId: job.id }, (data) => data.jobProgress);
    // Every subscriber has replayed up to the running task: what follows reaches them live.
    await Promise.all(full.map((s) => s.waitFor((e) => e.jobStatus === 'RUNNING')));
    await brief.waitFor((e) => e.type === 'JOB_STATUS_CHANGED' && e.seq === full[0]?.events.find((f) => f.jobStatus === 'RUNNING')?.seq);
    // Each read the job once, to know it exists: a replay that ends on an open status needs no second look.
    expect(jobReads).toBe(4);
    counting = true;
    release();
    const [first, ...others] = await Promise.all(full.map((s) => s.done));
    const briefEvents = await brief.done;
    counting = false;

    // A replayed event shows its task as it is when replayed; live ones as it was when they happened.
    const runningSeq = first?.find((e) => e.jobStatus === 'RUNNING')?.seq ?? Infinity;
    const liveOf = <E extends { seq: number }>(events: readonly E[] | undefined): E[] => events?.filter((e) => e.seq > runningSeq) ?? [];
    const live = liveOf(first);
    for (const other of others) {
      expect(other.map((e) => e.seq)).toEqual(first?.map((e) => e.seq));
      expect(liveOf(other)).toEqual(live);
    }
    expect(briefEvents.map((e) => e.seq)).toEqual(first?.map((e) => e.seq));
    expect(liveOf(briefEvents)).toEqual(live.map((e) => ({ seq: e.seq, type: e.type, task: e.task && { id: e.task.id, status: e.task.status } })));
    expect(live.filter((e) => e.type === 'TASK_PROGRESS').map((e) => e.progress?.message)).toEqual(['step 1', 'step 2', 'step 3']);
    // Four live events name the task (three TASK_PROGRESS, TASK_SUCCEEDED): one load each for
    // each of the two documents, where four subscribers executing alone would make sixteen.
    const withTask = live.filter((e) => e.task !== null).length;
    expect(withTask).toBe(STEPS + 1);
    expect(taskLoads).toBe(2 * withTask);
  });
});
