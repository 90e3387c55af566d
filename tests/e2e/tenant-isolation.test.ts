import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { sql } from 'kysely';
import { AccessService } from '../../src/access/index.js';
import { CancelJob, CancelTask, CreateJobToken, GetJob, GetTask, ListJobs, NodeById, RetryTask, SubmitJob } from '../graphql/operations.js';
import { execute, send, wsClient, type Caller } from '../support/graphql-client.js';
import { submitOrThrow, watchJob } from '../support/job-operations.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { TEST_REDIS_URL } from '../support/test-redis.js';

/** An id of the same shape that names nothing. */
const MISSING_JOB = encodeGlobalID('Job', '00000000-0000-4000-8000-000000000000');
const MISSING_TASK = encodeGlobalID('Task', '00000000-0000-4000-8000-000000000000');

/** A job whose one task waits an hour: it stays as it is while the test runs. */
const WAITING = { name: 'waiting', tasks: [{ type: 'demo.echo', payload: {}, delayMs: 3_600_000 }] };

/** The answer with the id it was asked about (global, or the raw id inside) replaced, so that a foreign and a missing id compare. */
const withoutId = (answer: unknown, id: string): string =>
  JSON.stringify(answer).split(id).join('<id>').split(decodeGlobalID(id).id).join('<id>');

interface Tenant {
  readonly caller: Caller;
  /** A job and task left waiting, a job whose task is CANCELLED (so retryable). */
  readonly waiting: { readonly jobId: string; readonly taskId: string };
  readonly cancelled: { readonly jobId: string; readonly taskId: string };
}

describe.each(['memory', 'postgres', 'redis'])('tenant isolation on the %s adapter', (adapter) => {
  let app: TestApp;
  let access: AccessService;
  let a: Tenant;
  let b: Tenant;

  const key = async (tenant: string, scopes: string[]): Promise<Caller> =>
    ({ authorization: (await access.createKey({ tenant, scopes })).secret });

  const tenantWithJobs = async (name: string): Promise<Tenant> => {
    const caller = await key(name, ['admin']);
    const waiting = await submitOrThrow(app.url, WAITING, caller);
    const cancelled = await submitOrThrow(app.url, WAITING, caller);
    const answer = await execute(app.url, CancelTask, { id: cancelled.taskIds[0]! }, caller);
    expect(answer.cancelTask.__typename).toBe('CancelTaskSuccess');
    return { caller, waiting: { jobId: waiting.id, taskId: waiting.taskIds[0]! }, cancelled: { jobId: cancelled.id, taskId: cancelled.taskIds[0]! } };
  };

  /** Everything tenant `tenant` holds, as rows: what a refused request must leave as it was. */
  const rowsOf = async (tenant: string): Promise<string> => {
    const { rows } = await sql<{ state: unknown }>`
      select json_build_object(
        'jobs', (select json_agg(j order by j.id) from jobs j where j.tenant_id = ${tenant}),
        'tasks', (select json_agg(t order by t.id) from tasks t where t.tenant_id = ${tenant}),
        'events', (select count(*) from job_events e join jobs j on j.id = e.job_id where j.tenant_id = ${tenant}),
        'attempts', (select count(*) from task_attempts x join tasks t on t.id = x.task_id where t.tenant_id = ${tenant})
      ) as state`.execute(app.db);
    return JSON.stringify(rows[0]?.state);
  };

  beforeAll(async () => {
    app = await startTestApp({ env: { AUTH_MODE: 'required', QUEUE_ADAPTER: adapter, REDIS_URL: TEST_REDIS_URL } });
    access = new AccessService({ db: app.db, mode: 'required', keyCacheMs: 2_000, jobTokenDefaultSeconds: 900, jobTokenMaxSeconds: 86_400 });
    a = await tenantWithJobs('tenant-a');
    b = await tenantWithJobs('tenant-b');
  });
  afterAll(() => app?.stop());

  it('answers a query for another tenant’s job or task exactly as for one that does not exist', async () => {
    const ask = async <Result>(id: string, document: TypedDocumentNode<Result, { id: string }>) =>
      withoutId(await send(app.url, document, { id }, b.caller).then((r) => [r.status, r.result]), id);
    const foreignJob = a.waiting.jobId;
    const foreignTask = a.waiting.taskId;
    expect(await ask(foreignJob, GetJob)).toBe(await ask(MISSING_JOB, GetJob));
    expect(await ask(foreignTask, GetTask)).toBe(await ask(MISSING_TASK, GetTask));
    expect(await ask(foreignJob, NodeById)).toBe(await ask(MISSING_JOB, NodeById));
    expect(await ask(foreignTask, NodeById)).toBe(await ask(MISSING_TASK, NodeById));
    expect((await execute(app.url, GetJob, { id: foreignJob }, b.caller)).job).toBeNull();
    // Its own are there.
    expect((await execute(app.url, GetJob, { id: b.waiting.jobId }, b.caller)).job?.id).toBe(b.waiting.jobId);
    expect((await execute(app.url, NodeById, { id: b.waiting.taskId }, b.caller)).node?.id).toBe(b.waiting.taskId);
  });

  it('lists only the caller’s own jobs', async () => {
    const listed = (await execute(app.url, ListJobs, { first: 100 }, b.caller)).jobs.edges.map((edge) => edge.node.id).sort();
    expect(listed).toEqual([b.waiting.jobId, b.cancelled.jobId].sort());
  });

  it('refuses every command on another tenant’s ids as on missing ones, and changes no row', async () => {
    const before = await rowsOf('tenant-a');
    const compare = async <Result>(document: TypedDocumentNode<Result, { id: string }>, foreign: string, missing: string) => {
      const foreignAnswer = await send(app.url, document, { id: foreign }, b.caller);
      const missingAnswer = await send(app.url, document, { id: missing }, b.caller);
      expect(withoutId(foreignAnswer.result, foreign)).toBe(withoutId(missingAnswer.result, missing));
      expect(JSON.stringify(foreignAnswer.result)).toContain('NotFoundError');
    };
    await compare(CancelTask, a.waiting.taskId, MISSING_TASK);
    await compare(CancelJob, a.waiting.jobId, MISSING_JOB);
    await compare(RetryTask, a.cancelled.taskId, MISSING_TASK);
    const token = async (id: string) => withoutId((await send(app.url, CreateJobToken, { jobId: id }, b.caller)).result, id);
    expect(await token(a.waiting.jobId)).toBe(await token(MISSING_JOB));
    expect(await rowsOf('tenant-a')).toBe(before);
  });

  it('gives two tenants the same idempotency key without a conflict', async () => {
    const input = { ...WAITING, idempotencyKey: `shared-${adapter}` };
    const first = await submitOrThrow(app.url, input, a.caller);
    const second = await submitOrThrow(app.url, input, b.caller);
    expect(second.id).not.toBe(first.id);
    expect(await submitOrThrow(app.url, input, a.caller)).toEqual(first);
  });

  it('ends a subscription to another tenant’s job as one to a missing job', async () => {
    const ws = wsClient(app.url, b.caller);
    try {
      const foreign = await watchJob(ws, a.waiting.jobId).done.then(() => 'completed', (error: Error) => withoutId(error.message, a.waiting.jobId));
      const missing = await watchJob(ws, MISSING_JOB).done.then(() => 'completed', (error: Error) => withoutId(error.message, MISSING_JOB));
      expect(foreign).toBe(missing);
      expect(foreign).toContain('NOT_FOUND');
    } finally {
      await ws.dispose();
    }
  });

  it('lets a key do only what its scopes allow, and writes nothing when it may not', async () => {
    const reader = await key('tenant-a', ['read']);
    const before = await rowsOf('tenant-a');
    const submitted = await execute(app.url, SubmitJob, { input: WAITING }, reader);
    expect(submitted.submitJob).toMatchObject({ __typename: 'AuthorizationError', code: 'FORBIDDEN' });
    expect((await execute(app.url, CancelTask, { id: a.waiting.taskId }, reader)).cancelTask).toMatchObject({ __typename: 'AuthorizationError' });
    expect((await execute(app.url, RetryTask, { id: a.cancelled.taskId }, reader)).retryTask).toMatchObject({ __typename: 'AuthorizationError' });
    expect((await execute(app.url, CreateJobToken, { jobId: a.waiting.jobId }, reader)).createJobToken).toMatchObject({
      __typename: 'AuthorizationError',
      requiredScopes: ['submit'],
    });
    expect(await rowsOf('tenant-a')).toBe(before);
    expect((await execute(app.url, GetJob, { id: a.waiting.jobId }, reader)).job?.id).toBe(a.waiting.jobId);

    const submitter = await key('tenant-a', ['submit']);
    const read = await send(app.url, GetJob, { id: a.waiting.jobId }, submitter);
    expect(read.result.data?.job).toBeNull();
    expect(read.result.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
  });

  it('lets a job token read its one job, and nothing else', async () => {
    const made = await execute(app.url, CreateJobToken, { jobId: a.waiting.jobId, expiresInSeconds: 60 }, a.caller);
    if (made.createJobToken.__typename !== 'CreateJobTokenSuccess') throw new Error(JSON.stringify(made));
    const holder: Caller = { authorization: made.createJobToken.token };
    expect((await execute(app.url, GetJob, { id: a.waiting.jobId }, holder)).job?.id).toBe(a.waiting.jobId);
    expect((await execute(app.url, GetTask, { id: a.waiting.taskId }, holder)).task?.job.id).toBe(a.waiting.jobId);
    // Another job of the same tenant does not exist for it.
    const other = async (id: string) => withoutId((await send(app.url, GetJob, { id }, holder)).result, id);
    expect(await other(a.cancelled.jobId)).toBe(await other(MISSING_JOB));
    expect((await execute(app.url, GetTask, { id: a.cancelled.taskId }, holder)).task).toBeNull();
    const listed = await send(app.url, ListJobs, { first: 10 }, holder);
    expect(listed.result.errors?.[0]?.extensions?.['code']).toBe('FORBIDDEN');
    const before = await rowsOf('tenant-a');
    expect((await execute(app.url, SubmitJob, { input: WAITING }, holder)).submitJob.__typename).toBe('AuthorizationError');
    expect((await execute(app.url, CancelTask, { id: a.waiting.taskId }, holder)).cancelTask.__typename).toBe('AuthorizationError');
    expect((await execute(app.url, CreateJobToken, { jobId: a.waiting.jobId }, holder)).createJobToken.__typename).toBe('AuthorizationError');
    expect(await rowsOf('tenant-a')).toBe(before);

    const ws = wsClient(app.url, holder);
    try {
      const own = watchJob(ws, a.waiting.jobId);
      expect((await own.waitFor(() => true)).type).toBeDefined();
      own.unsubscribe();
      await expect(watchJob(ws, a.cancelled.jobId).done).rejects.toThrow(/NOT_FOUND/);
    } finally {
      await ws.dispose();
    }
  });

  it('refuses a job token that expired or was altered', async () => {
    const made = await execute(app.url, CreateJobToken, { jobId: a.waiting.jobId, expiresInSeconds: 1 }, a.caller);
    if (made.createJobToken.__typename !== 'CreateJobTokenSuccess') throw new Error(JSON.stringify(made));
    const { token } = made.createJobToken;
    const altered = token.slice(0, -3) + (token.endsWith('AAA') ? 'BBB' : 'AAA');
    expect((await send(app.url, GetJob, { id: a.waiting.jobId }, { authorization: altered })).status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const expired = await send(app.url, GetJob, { id: a.waiting.jobId }, { authorization: token });
    expect(expired.status).toBe(401);
    expect(expired.result.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
    const tooLong = await execute(app.url, CreateJobToken, { jobId: a.waiting.jobId, expiresInSeconds: 86_401 }, a.caller);
    expect(tooLong.createJobToken.__typename).toBe('ValidationError');
  });
});
