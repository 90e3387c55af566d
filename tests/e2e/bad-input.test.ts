import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { print, type GraphQLFormattedError } from 'graphql';
import type { Client } from 'graphql-ws';
import { execute, executeRaw, wsClient } from '../support/graphql-client.js';
import { submitOrThrow, watchJob } from '../support/job-operations.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { rowCounts } from '../support/test-database.js';
import { CancelJob, CancelTask, GetJob, JobProgress, RetryTask, SubmitJob } from '../graphql/operations.js';
import type { SubmitJobInput } from '../graphql/generated/graphql.js';

let app: TestApp;
let ws: Client;
let doneJobId: string;
let doneTaskId: string;

beforeAll(async () => {
  app = await startTestApp({ env: { MAX_TASKS_PER_JOB: '50' } });
  ws = wsClient(app.url);
  const { submitJob } = await execute(app.url, SubmitJob, { input: { name: 'finished', tasks: [{ type: 'demo.echo', payload: 1 }] } });
  if (submitJob.__typename !== 'SubmitJobSuccess') throw new Error('setup failed');
  doneJobId = submitJob.job.id;
  doneTaskId = submitJob.job.tasks.edges[0]?.node.id ?? '';
  for (let i = 0; i < 100; i++) {
    const { job } = await execute(app.url, GetJob, { id: doneJobId });
    if (job?.status === 'SUCCEEDED') break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});

afterAll(async () => {
  await ws?.dispose();
  await app?.stop();
});

/** Runs the mutation and proves that nothing was written, whatever it answered. */
async function refusedSubmit(input: SubmitJobInput) {
  const before = await rowCounts(app.db);
  const { submitJob } = await execute(app.url, SubmitJob, { input });
  expect(await rowCounts(app.db)).toEqual(before);
  if (submitJob.__typename !== 'ValidationError') throw new Error(`expected ValidationError, got ${JSON.stringify(submitJob)}`);
  expect(submitJob.code).toBe('VALIDATION_FAILED');
  return submitJob;
}

describe('submitJob refuses bad input with a typed error and writes nothing', () => {
  it('an unknown task type, naming the known ones', async () => {
    const error = await refusedSubmit({ name: 'x', tasks: [{ type: 'demo.nope' }] });
    expect(error.details).toEqual([{ path: 'tasks.0.type', message: expect.stringContaining('unknown task type "demo.nope"') }]);
    expect(error.details[0]?.message).toContain('demo.sleep');
  });

  it('a payload its task type refuses, with the path of the bad value', async () => {
    const error = await refusedSubmit({
      name: 'x',
      tasks: [{ type: 'demo.echo', payload: 1 }, { type: 'demo.sleep', payload: { ms: 'slow', steps: 0 } }],
    });
    expect(error.details.map((d) => d.path).sort()).toEqual(['tasks.1.payload.ms', 'tasks.1.payload.steps']);
    expect(error.message).toMatch(/^Invalid input at tasks\.1\.payload/);
  });

  it('an empty task list', async () => {
    const error = await refusedSubmit({ name: 'x', tasks: [] });
    expect(error.details).toEqual([{ path: 'tasks', message: 'a job needs at least one task' }]);
  });

  it('an oversized task list', async () => {
    const tasks = Array.from({ length: 51 }, () => ({ type: 'demo.echo', payload: 1 }));
    const error = await refusedSubmit({ name: 'x', tasks });
    expect(error.details).toEqual([{ path: 'tasks', message: 'a job may have at most 50 tasks' }]);
  });

  it.each([0, 11, -3])('job priority %i, outside 1–10', async (priority) => {
    const error = await refusedSubmit({ name: 'x', priority, tasks: [{ type: 'demo.echo', payload: 1 }] });
    expect(error.details).toEqual([{ path: 'priority', message: 'must be from 1 to 10' }]);
  });

  it('a task priority outside 1–10', async () => {
    const error = await refusedSubmit({ name: 'x', tasks: [{ type: 'demo.echo', payload: 1, priority: 12 }] });
    expect(error.details).toEqual([{ path: 'tasks.0.priority', message: 'must be from 1 to 10' }]);
  });

  it('an empty name and a malformed queue at once', async () => {
    const error = await refusedSubmit({ name: '  ', queue: 'no spaces', tasks: [{ type: 'demo.echo', payload: 1 }] });
    expect(error.details.map((d) => d.path).sort()).toEqual(['name', 'queue']);
  });

  it('a concurrency limit without a key, and one out of bounds', async () => {
    const keyless = await refusedSubmit({ name: 'x', tasks: [{ type: 'demo.echo', payload: 1, concurrencyLimit: 2 }] });
    expect(keyless.details.map((detail) => detail.path)).toEqual(['tasks.0.concurrencyLimit']);
    const zero = await refusedSubmit({ name: 'x', tasks: [{ type: 'demo.echo', payload: 1, concurrencyKey: 'user-1', concurrencyLimit: 0 }] });
    expect(zero.details.map((detail) => detail.path)).toEqual(['tasks.0.concurrencyLimit']);
  });

  it('metadata that is not an object', async () => {
    const error = await refusedSubmit({ name: 'x', metadata: [1, 2], tasks: [{ type: 'demo.echo', payload: 1 }] });
    expect(error.details[0]?.path).toBe('metadata');
  });
});

describe('task and job commands refuse bad IDs and states with typed errors', () => {
  const unknownTask = encodeGlobalID('Task', '00000000-0000-4000-8000-000000000000');

  it.each([
    ['malformed', 'not-an-id', 'ValidationError', 'VALIDATION_FAILED'],
    ['of another type', encodeGlobalID('Job', '00000000-0000-4000-8000-000000000000'), 'ValidationError', 'VALIDATION_FAILED'],
    ['unknown', unknownTask, 'NotFoundError', 'NOT_FOUND'],
    ['with a raw id that is no UUID', encodeGlobalID('Task', 'abc'), 'NotFoundError', 'NOT_FOUND'],
  ])('retryTask and cancelTask with an ID %s', async (_what, id, typename, code) => {
    const before = await rowCounts(app.db);
    const { retryTask } = await execute(app.url, RetryTask, { id });
    const { cancelTask } = await execute(app.url, CancelTask, { id });
    expect(retryTask).toMatchObject({ __typename: typename, code });
    expect(cancelTask).toMatchObject({ __typename: typename, code });
    expect(await rowCounts(app.db)).toEqual(before);
  });

  it('retry of a task that did not fail', async () => {
    const before = await rowCounts(app.db);
    const { retryTask } = await execute(app.url, RetryTask, { id: doneTaskId });
    expect(retryTask).toMatchObject({ __typename: 'InvalidStateError', code: 'INVALID_STATE' });
    if (retryTask.__typename === 'InvalidStateError') expect(retryTask.message).toContain('only a FAILED or CANCELLED task can be retried');
    expect(await rowCounts(app.db)).toEqual(before);
  });

  it('cancel of a finished task and of a finished job', async () => {
    const before = await rowCounts(app.db);
    const { cancelTask } = await execute(app.url, CancelTask, { id: doneTaskId });
    const { cancelJob } = await execute(app.url, CancelJob, { id: doneJobId });
    expect(cancelTask).toMatchObject({ __typename: 'InvalidStateError', code: 'INVALID_STATE' });
    expect(cancelJob).toMatchObject({ __typename: 'InvalidStateError', code: 'INVALID_STATE' });
    expect(await rowCounts(app.db)).toEqual(before);
  });

  it('cancelJob of an unknown job', async () => {
    const { cancelJob } = await execute(app.url, CancelJob, { id: encodeGlobalID('Job', '00000000-0000-4000-8000-000000000000') });
    expect(cancelJob).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
  });

  it('job(id) answers null for an unknown job and a GraphQL error for a malformed ID', async () => {
    const { job } = await execute(app.url, GetJob, { id: encodeGlobalID('Job', '00000000-0000-4000-8000-000000000000') });
    expect(job).toBeNull();
    const malformed = await executeRaw(app.url, GetJob, { id: '%%%' });
    expect(malformed.errors?.length).toBeGreaterThan(0);
  });

  it('an ID longer than any the API hands out, refused before it is decoded, with a short message', async () => {
    const long = encodeGlobalID('Job', 'x'.repeat(100_000));
    const read = await executeRaw(app.url, GetJob, { id: long });
    expect(read.errors?.map((error) => error.message)).toEqual(['Invalid global ID: longer than 256 characters']);
    const { retryTask } = await execute(app.url, RetryTask, { id: long });
    expect(retryTask).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION_FAILED' });
    if (retryTask.__typename === 'ValidationError') expect(retryTask.message.length).toBeLessThan(400);
  });
});

/** The errors a jobProgress subscription ends with; fails if it sends an event or completes instead. */
function subscriptionErrors(variables: { jobId: string; after?: string }): Promise<readonly GraphQLFormattedError[]> {
  return new Promise((resolve, reject) => {
    ws.subscribe(
      { query: print(JobProgress), variables },
      {
        next: (value) => reject(new Error(`an event: ${JSON.stringify(value)}`)),
        error: (error) => (Array.isArray(error) ? resolve(error as GraphQLFormattedError[]) : reject(error)),
        complete: () => reject(new Error('completed without an error')),
      },
    );
  });
}

describe('jobProgress refuses bad arguments with a GraphQL error carrying our code', () => {
  it('an unknown job', async () => {
    const jobId = encodeGlobalID('Job', '00000000-0000-4000-8000-000000000000');
    expect(await subscriptionErrors({ jobId })).toEqual([{ message: `Job ${jobId} was not found`, extensions: { code: 'NOT_FOUND' } }]);
  });

  it.each([
    ['malformed', 'not-an-id', '"not-an-id" is not a valid Job ID'],
    ['of a task', encodeGlobalID('Task', '00000000-0000-4000-8000-000000000000'), 'is not a Job ID'],
  ])('a job ID %s', async (_what, jobId, message) => {
    const [error, ...more] = await subscriptionErrors({ jobId });
    expect(more).toEqual([]);
    expect(error?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'jobId' }] });
    expect(error?.message).toContain(message);
  });

  it('an `after` that is no event ID, or an event of another job', async () => {
    const [event] = await watchJob(ws, doneJobId).done;
    const other = await submitOrThrow(app.url, { name: 'other', tasks: [{ type: 'demo.echo', payload: 2 }] });
    for (const after of ['zzz', event?.id ?? '']) {
      const [error] = await subscriptionErrors({ jobId: other.id, after });
      expect(error).toMatchObject({
        message: `Invalid input at after: "${after}" is not the ID of an event of this job`,
        extensions: { code: 'VALIDATION_FAILED', details: [{ path: 'after' }] },
      });
    }
  });
});
