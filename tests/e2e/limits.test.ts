import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { print } from 'graphql';
import { decodeGlobalID } from '@pothos/plugin-relay';
import { AccessService } from '../../src/access/index.js';
import { CancelJob, GetJob, JobProgress, SubmitJob } from '../graphql/operations.js';
import { send, wsClient, type Caller } from '../support/graphql-client.js';
import { submitOrThrow } from '../support/job-operations.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { rowCounts } from '../support/test-database.js';

const ALLOWED = 'https://app.example.com';
const WAITING = { name: 'waiting', tasks: [{ type: 'demo.echo', payload: {}, delayMs: 3_600_000 }] };
const tasks = (count: number) => ({ name: `n${count}`, tasks: Array.from({ length: count }, (_, n) => ({ type: 'demo.echo', payload: n, delayMs: 3_600_000 })) });
const rowId = (globalId: string) => decodeGlobalID(globalId).id;

const typename = (url: string, caller: Caller, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers, ...(caller.authorization ? { authorization: `Bearer ${caller.authorization}` } : {}) },
    body: JSON.stringify({ query: '{ __typename }' }),
  });

const keyFor = (app: TestApp, tenant: string) =>
  new AccessService({ db: app.db, mode: 'required', keyCacheMs: 0, jobTokenDefaultSeconds: 900, jobTokenMaxSeconds: 900 })
    .createKey({ tenant, scopes: ['admin'] })
    .then((created): Caller => ({ authorization: created.secret }));

/** Subscribes to a job's progress and says how the first answer went: 'event', or the error. */
function firstAnswer(client: ReturnType<typeof wsClient>, jobId: string): Promise<string> {
  return new Promise((resolve) => {
    const stop = client.subscribe(
      { query: print(JobProgress), variables: { jobId } },
      {
        next: () => {
          stop();
          resolve('event');
        },
        error: (error) => resolve(JSON.stringify(error)),
        complete: () => resolve('complete'),
      },
    );
  });
}

describe('rate limits per caller', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({
      env: {
        AUTH_MODE: 'required',
        QUEUE_ADAPTER: 'memory',
        CORS_ORIGINS: ALLOWED,
        RATE_LIMIT_REQUESTS_PER_MINUTE: '6',
        RATE_LIMIT_TASKS_PER_MINUTE: '10',
        MAX_TASKS_PER_JOB: '10',
      },
    });
  });
  afterAll(() => app?.stop());

  it('answers the request past the rate with 429, Retry-After and RATE_LIMITED, for that key only', async () => {
    const [a, b] = [await keyFor(app, 'acme'), await keyFor(app, 'acme')];
    for (let n = 0; n < 6; n++) expect((await typename(app.url, a)).status).toBe(200);
    const refused = await typename(app.url, a, { origin: ALLOWED });
    expect(refused.status).toBe(429);
    const seconds = Number(refused.headers.get('retry-after'));
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual(60);
    // A browser page may read the refusal: it carries the CORS headers.
    expect(refused.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    const body = (await refused.json()) as { errors: { message: string; extensions: { code: string; retryAfterMs: number } }[] };
    expect(body.errors[0]?.extensions.code).toBe('RATE_LIMITED');
    expect(body.errors[0]?.extensions.retryAfterMs).toBeGreaterThan(0);
    expect(body.errors[0]?.message).toMatch(/at most 6 per minute/);
    // Nothing runs past the limit, a mutation neither.
    const before = await rowCounts(app.db);
    expect((await send(app.url, SubmitJob, { input: WAITING }, a)).status).toBe(429);
    expect(await rowCounts(app.db)).toEqual(before);
    // Another key of the same tenant has its own count.
    expect((await typename(app.url, b)).status).toBe(200);
  });

  it('counts refused credentials by their address, so guessing keys is held to the rate', async () => {
    const statuses: number[] = [];
    for (let n = 0; n < 8; n++) statuses.push((await typename(app.url, { authorization: `jobql_k_${'0'.repeat(47)}${n}` })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 401, 429, 429]);
  });

  it('counts a WebSocket connection and each operation on it; past the rate an operation gets RATE_LIMITED', async () => {
    const caller = await keyFor(app, 'acme');
    const job = await submitOrThrow(app.url, WAITING, caller);
    const client = wsClient(app.url, caller);
    // Kept open, so that the connection stays (the client closes it when nothing is subscribed).
    const open = await new Promise<() => void>((resolve) => {
      const stop = client.subscribe({ query: print(JobProgress), variables: { jobId: job.id } }, { next: () => resolve(stop), error: () => {}, complete: () => {} });
    });
    // The submission, the connection and that operation are three; three more fit, the fourth does not.
    const outcomes: string[] = [];
    for (let n = 0; n < 4; n++) outcomes.push(await firstAnswer(client, job.id));
    open();
    await client.dispose();
    expect(outcomes.slice(0, 3)).toEqual(['event', 'event', 'event']);
    expect(outcomes[3]).toContain('RATE_LIMITED');
    expect(outcomes[3]).toContain('retryAfterMs');
  });

  it('answers a submission past the task rate with a RateLimitError, writes nothing, and leaves the rest of the allowance', async () => {
    const caller = await keyFor(app, 'acme');
    const first = await send(app.url, SubmitJob, { input: tasks(6) }, caller);
    expect(first.result.data?.submitJob.__typename).toBe('SubmitJobSuccess');
    const before = await rowCounts(app.db);
    const refused = await send(app.url, SubmitJob, { input: tasks(6) }, caller);
    const result = refused.result.data?.submitJob;
    expect(result?.__typename).toBe('RateLimitError');
    if (result?.__typename !== 'RateLimitError') throw new Error('unreachable');
    expect(result.code).toBe('RATE_LIMITED');
    expect(result.perMinute).toBe(10);
    expect(result.retryAfterMs).toBeGreaterThan(0);
    expect(result.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(refused.status).toBe(200);
    expect(Number(refused.headers.get('retry-after'))).toBe(Math.ceil(result.retryAfterMs / 1000));
    expect(await rowCounts(app.db)).toEqual(before);
    // The refused six were not counted: four still fit.
    expect((await send(app.url, SubmitJob, { input: tasks(4) }, caller)).result.data?.submitJob.__typename).toBe('SubmitJobSuccess');
  });
});

describe("the API's pool", () => {
  let app: TestApp;
  afterEach(() => app?.stop());

  it('cancels a statement past API_STATEMENT_TIMEOUT_MS and answers STATEMENT_TIMEOUT with 503, writing nothing', async () => {
    app = await startTestApp({ env: { QUEUE_ADAPTER: 'memory', API_STATEMENT_TIMEOUT_MS: '300' } });
    const job = await submitOrThrow(app.url, WAITING);
    const before = await rowCounts(app.db);
    // A transaction of the test holds the job's row: the API's cancel waits on it until the timeout.
    await app.db.transaction().execute(async (trx) => {
      await trx.selectFrom('jobs').select('id').where('id', '=', rowId(job.id)).forUpdate().execute();
      const started = Date.now();
      const answer = await send(app.url, CancelJob, { id: job.id }, {});
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(answer.status).toBe(503);
      expect(answer.result.errors?.[0]?.extensions?.['code']).toBe('STATEMENT_TIMEOUT');
      expect(answer.result.errors?.[0]?.message).toMatch(/API_STATEMENT_TIMEOUT_MS/);
    });
    expect(await rowCounts(app.db)).toEqual(before);
    expect((await send(app.url, GetJob, { id: job.id }, {})).result.data?.job?.status).toBe('QUEUED');
  });

  it('keeps the worker running tasks while every API connection is held', async () => {
    app = await startTestApp({ env: { QUEUE_ADAPTER: 'postgres', API_POOL_SIZE: '2', API_CONNECTIONS_PER_REQUEST: '1', API_STATEMENT_TIMEOUT_MS: '20000' } });
    const held = await submitOrThrow(app.url, WAITING);
    const due = await submitOrThrow(app.url, { name: 'soon', tasks: [{ type: 'demo.echo', payload: 1, delayMs: 500 }] });
    let waiting: Promise<{ status: number }>[] = [];
    await app.db.transaction().execute(async (trx) => {
      await trx.selectFrom('jobs').select('id').where('id', '=', rowId(held.id)).forUpdate().execute();
      // More cancels of the locked job than the worker's pool has connections: two hold the API's
      // connections waiting on the lock, the others wait for one of those.
      waiting = Array.from({ length: 12 }, () => send(app.url, CancelJob, { id: held.id }, {}));
      await expect
        .poll(async () => (await trx.selectFrom('jobs').select('status').where('id', '=', rowId(due.id)).executeTakeFirstOrThrow()).status, { timeout: 10_000 })
        .toBe('SUCCEEDED');
    });
    const answers = await Promise.all(waiting);
    expect(answers.map((answer) => answer.status)).toEqual(Array(12).fill(200));
  });
});
