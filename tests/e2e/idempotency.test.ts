import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeGlobalID } from '@pothos/plugin-relay';
import type { Db } from '../../src/store/database.js';
import { isKeyTaken, releaseExpiredKey } from '../../src/store/idempotency-keys.js';
import { execute } from '../support/graphql-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { rowCounts } from '../support/test-database.js';
import { CancelJob, GetJob, RetryTask, SubmitJob } from '../graphql/operations.js';
import type { SubmitJobInput, SubmitJobMutation } from '../graphql/generated/graphql.js';

type SubmitResult = SubmitJobMutation['submitJob'];

const HOUR = 3_600_000;
/** No worker serves this queue: its jobs stay QUEUED until cancelled. */
const PARKED = 'parked';
const TINY_TTL_MS = 300;

/** API only: no worker runs anything, so row counts move only with the requests. */
let app: TestApp;
/** With a worker and a tiny key TTL, for jobs that really run to the end. */
let tinyTtlApp: TestApp;
let keyRaces = 0;

beforeAll(async () => {
  [app, tinyTtlApp] = await Promise.all([
    startTestApp({
      role: 'api',
      onQuery: (event) => {
        if (event.level === 'error' && isKeyTaken(event.error)) keyRaces += 1;
      },
    }),
    startTestApp({ env: { IDEMPOTENCY_KEY_TTL_MS: String(TINY_TTL_MS) } }),
  ]);
});

afterAll(async () => {
  await Promise.all([app?.stop(), tinyTtlApp?.stop()]);
});

function parked(key: string, payload: unknown = { n: 1 }, name = 'idempotent'): SubmitJobInput {
  return { name, queue: PARKED, idempotencyKey: key, tasks: [{ type: 'demo.echo', payload }] };
}

async function submit(input: SubmitJobInput, url = app.url): Promise<SubmitResult> {
  return (await execute(url, SubmitJob, { input })).submitJob;
}

async function submitted(input: SubmitJobInput, url = app.url): Promise<string> {
  const result = await submit(input, url);
  if (result.__typename !== 'SubmitJobSuccess') throw new Error(`expected SubmitJobSuccess, got ${JSON.stringify(result)}`);
  return result.job.id;
}

function jobIdOf(result: SubmitResult): string {
  if (result.__typename !== 'SubmitJobSuccess') throw new Error(`expected SubmitJobSuccess, got ${JSON.stringify(result)}`);
  return result.job.id;
}

function rawId(globalId: string): string {
  return decodeGlobalID(globalId).id;
}

/** The raw ids of the jobs that hold the key: never more than one. */
async function holdersOf(db: Db, key: string): Promise<string[]> {
  const rows = await db.selectFrom('jobs').select('id').where('idempotencyKey', '=', key).execute();
  return rows.map((row) => row.id);
}

/** What `act` answered, and what its requests wrote: the change of each table's row count. */
async function writes<T>(act: () => Promise<T>): Promise<{ value: T; written: Record<string, number> }> {
  const before = await rowCounts(app.db);
  const value = await act();
  const after = await rowCounts(app.db);
  return { value, written: Object.fromEntries(Object.entries(after).map(([table, count]) => [table, count - (before[table] ?? 0)])) };
}

const NOTHING = { jobs: 0, tasks: 0, attempts: 0, events: 0 };
/** One job of one task, with its TASK_QUEUED and JOB_STATUS_CHANGED events. */
const ONE_JOB = { jobs: 1, tasks: 1, attempts: 0, events: 2 };

async function cancel(jobId: string): Promise<void> {
  const { cancelJob } = await execute(app.url, CancelJob, { id: jobId });
  expect(cancelJob.__typename).toBe('CancelJobSuccess');
}

/** Makes a finished job look as if it had finished `agoMs` ago. */
async function finishedAgo(jobId: string, agoMs: number): Promise<void> {
  const result = await app.db
    .updateTable('jobs')
    .set({ finishedAt: new Date(Date.now() - agoMs) })
    .where('id', '=', rawId(jobId))
    .where('finishedAt', 'is not', null)
    .executeTakeFirstOrThrow();
  expect(result.numUpdatedRows).toBe(1n);
}

async function waitForFinish(url: string, jobId: string): Promise<Date> {
  for (let i = 0; i < 200; i++) {
    const { job } = await execute(url, GetJob, { id: jobId });
    if (job?.finishedAt) return new Date(job.finishedAt);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`job ${jobId} did not finish`);
}

describe('the same key with the same input', () => {
  it('returns the first job and writes nothing', async () => {
    const first = await submitted(parked('same'));
    const { written } = await writes(async () => {
      expect(await submitted(parked('same'))).toBe(first);
      expect(await submitted(parked('same'))).toBe(first);
    });
    expect(written).toEqual(NOTHING);
  });

  it('compares the validated input: key order and defaults spelled out make no difference', async () => {
    const first = await submitted({
      name: 'normalised',
      idempotencyKey: 'normalised',
      metadata: { a: 1, b: { c: 2, d: 3 } },
      queue: PARKED,
      tasks: [{ type: 'demo.echo', payload: { x: 1, y: [1, { p: 1, q: 2 }] } }],
    });
    const { written } = await writes(async () => {
      const again = await submitted({
        tasks: [{ payload: { y: [1, { q: 2, p: 1 }], x: 1 }, type: 'demo.echo', priority: 5, maxAttempts: 3 }],
        queue: PARKED,
        metadata: { b: { d: 3, c: 2 }, a: 1 },
        idempotencyKey: 'normalised',
        priority: 5,
        name: ' normalised ',
      });
      expect(again).toBe(first);
    });
    expect(written).toEqual(NOTHING);
  });

  it('counts delayMs as the delay asked for: the same delay re-sent later is the same input', async () => {
    const delayed = (delayMs: number): SubmitJobInput => ({ ...parked('delayed'), tasks: [{ type: 'demo.echo', payload: 1, delayMs }] });
    const first = await submitted(delayed(60_000));
    await new Promise((resolve) => setTimeout(resolve, 30));
    const { written } = await writes(async () => {
      expect(await submitted(delayed(60_000))).toBe(first);
      expect(await submit(delayed(90_000))).toMatchObject({ __typename: 'IdempotencyConflictError', existingJobId: first });
    });
    expect(written).toEqual(NOTHING);
  });
});

describe('the same key with a different input', () => {
  it('is an IdempotencyConflictError naming the existing job, and writes nothing', async () => {
    const first = await submitted(parked('conflict', { n: 1 }));
    const { value: result, written } = await writes(() => submit(parked('conflict', { n: 2 })));
    expect(written).toEqual(NOTHING);
    if (result.__typename !== 'IdempotencyConflictError') throw new Error(`expected a conflict, got ${JSON.stringify(result)}`);
    expect(result).toMatchObject({
      code: 'IDEMPOTENCY_CONFLICT',
      idempotencyKey: 'conflict',
      existingJobId: first,
      existingJob: { id: first, name: 'idempotent', status: 'QUEUED' },
    });
    expect(result.message).toContain('"conflict"');
    // The first input still gets its job.
    expect(await submitted(parked('conflict', { n: 1 }))).toBe(first);
  });

  it.each<[string, SubmitJobInput]>([
    ['name', parked('each', { n: 1 }, 'other name')],
    ['priority', { ...parked('each'), priority: 9 }],
    ['metadata', { ...parked('each'), metadata: { tag: 'x' } }],
    ['task options', { ...parked('each'), tasks: [{ type: 'demo.echo', payload: { n: 1 }, maxAttempts: 7 }] }],
    ['task list', { ...parked('each'), tasks: [{ type: 'demo.echo', payload: { n: 1 } }, { type: 'demo.echo', payload: { n: 1 } }] }],
  ])('the %s counts', async (_what, changed) => {
    const first = await submitted(parked('each'));
    expect(await submit(changed)).toMatchObject({ __typename: 'IdempotencyConflictError', existingJobId: first });
  });
});

describe('concurrent submissions with one key', () => {
  it('ten at once with the same input make one job, and every caller gets it', async () => {
    const { value: results, written } = await writes(() => Promise.all(Array.from({ length: 10 }, () => submit(parked('ten-same')))));
    expect(written).toEqual(ONE_JOB);
    const ids = new Set(results.map(jobIdOf));
    expect(ids.size).toBe(1);
    expect(await holdersOf(app.db, 'ten-same')).toEqual([rawId([...ids][0]!)]);
  });

  it('ten at once with two inputs make one job; the other input gets conflicts naming it', async () => {
    const inputs = Array.from({ length: 10 }, (_, i) => parked('ten-mixed', { n: i % 2 }, `mixed ${i % 2}`));
    const { value: results, written } = await writes(() => Promise.all(inputs.map((input) => submit(input))));
    expect(written).toEqual(ONE_JOB);
    const [holder] = await holdersOf(app.db, 'ten-mixed');
    const { job } = await execute(app.url, GetJob, { id: results.find((r) => r.__typename === 'SubmitJobSuccess')?.job.id ?? '' });
    expect(job && rawId(job.id)).toBe(holder);
    results.forEach((result, i) => {
      if (inputs[i]!.name === job?.name) expect(result).toMatchObject({ __typename: 'SubmitJobSuccess', job: { id: job.id } });
      else expect(result).toMatchObject({ __typename: 'IdempotencyConflictError', existingJobId: job?.id, existingJob: { id: job?.id } });
    });
  });

  it('a submission whose insert loses the race answers with the winner’s job', async () => {
    // Races are by nature not certain to happen in one round: go on until the index refused one.
    const racesBefore = keyRaces;
    for (let round = 0; round < 30 && keyRaces === racesBefore; round++) {
      const key = `race-${round}`;
      const inputs = Array.from({ length: 10 }, (_, i) => parked(key, { n: i % 3 === 0 ? 'a' : 'b' }, `race ${i % 3 === 0 ? 'a' : 'b'}`));
      const results = await Promise.all(inputs.map((input) => submit(input)));
      const holders = await holdersOf(app.db, key);
      expect(holders).toHaveLength(1);
      const winner = results.find((r) => r.__typename === 'SubmitJobSuccess');
      expect(winner && rawId(jobIdOf(winner))).toBe(holders[0]);
      for (const result of results) {
        if (result.__typename === 'SubmitJobSuccess') expect(result.job.id).toBe(winner && jobIdOf(winner));
        else expect(result).toMatchObject({ __typename: 'IdempotencyConflictError', existingJobId: winner && jobIdOf(winner) });
      }
    }
    expect(keyRaces).toBeGreaterThan(racesBefore);
  });
});

describe('a key stays bound to its job until the job has been final for IDEMPOTENCY_KEY_TTL_MS', () => {
  it('within the TTL (24 h by default) a finished job still answers, whatever the input', async () => {
    const first = await submitted(parked('within'));
    await cancel(first);
    await finishedAgo(first, 23 * HOUR);
    const { written } = await writes(async () => {
      expect(await submitted(parked('within'))).toBe(first);
      expect(await submit(parked('within', { n: 2 }))).toMatchObject({ __typename: 'IdempotencyConflictError', existingJobId: first });
    });
    expect(written).toEqual(NOTHING);
  });

  it('past the TTL the key starts a new job, which then holds it', async () => {
    const first = await submitted(parked('past'));
    await cancel(first);
    await finishedAgo(first, 25 * HOUR);
    const second = await submitted(parked('past'));
    expect(second).not.toBe(first);
    expect(await holdersOf(app.db, 'past')).toEqual([rawId(second)]);
    const old = await app.db.selectFrom('jobs').selectAll().where('id', '=', rawId(first)).executeTakeFirstOrThrow();
    expect(old).toMatchObject({ idempotencyKey: null, status: 'CANCELLED' });
    expect(await submitted(parked('past'))).toBe(second);
  });

  it('past the TTL a different input is no conflict: it starts a new job', async () => {
    const first = await submitted(parked('past-other', { n: 1 }));
    await cancel(first);
    await finishedAgo(first, 25 * HOUR);
    const second = await submitted(parked('past-other', { n: 2 }));
    expect(second).not.toBe(first);
    expect(await submit(parked('past-other', { n: 1 }))).toMatchObject({ __typename: 'IdempotencyConflictError', existingJobId: second });
  });

  it('ten at once on an expired key make one new job, and every caller gets it', async () => {
    const first = await submitted(parked('expired-race'));
    await cancel(first);
    await finishedAgo(first, 25 * HOUR);
    const { value: results, written } = await writes(() => Promise.all(Array.from({ length: 10 }, () => submit(parked('expired-race')))));
    expect(written).toEqual(ONE_JOB);
    const ids = new Set(results.map(jobIdOf));
    expect(ids.size).toBe(1);
    expect(ids.has(first)).toBe(false);
    expect(await holdersOf(app.db, 'expired-race')).toEqual([rawId([...ids][0]!)]);
  });

  it('an unfinished job never gives its key up, however old it is', async () => {
    const first = await submitted(parked('unfinished'));
    await app.db
      .updateTable('jobs')
      .set({ createdAt: new Date(Date.now() - 30 * 24 * HOUR), updatedAt: new Date(Date.now() - 30 * 24 * HOUR) })
      .where('id', '=', rawId(first))
      .execute();
    expect(await submitted(parked('unfinished'))).toBe(first);
    expect(await submit(parked('unfinished', { n: 2 }))).toMatchObject({ __typename: 'IdempotencyConflictError', existingJobId: first });
  });

  it('a job made unfinished again by retryTask keeps its key', async () => {
    const first = await submitted(parked('reopened'));
    await cancel(first);
    await finishedAgo(first, 25 * HOUR);
    const { job } = await execute(app.url, GetJob, { id: first });
    const { retryTask } = await execute(app.url, RetryTask, { id: job?.tasks.edges[0]?.node.id ?? '' });
    expect(retryTask).toMatchObject({ __typename: 'RetryTaskSuccess', task: { status: 'QUEUED', job: { status: 'QUEUED' } } });
    expect(await submitted(parked('reopened'))).toBe(first);
    expect(await holdersOf(app.db, 'reopened')).toEqual([rawId(first)]);
  });
});

describe('releaseExpiredKey checks again under the row lock what the submission saw before', () => {
  const release = (jobId: string, key: string, finishedBefore: Date) =>
    app.db.transaction().execute((trx) => releaseExpiredKey(trx, rawId(jobId), key, finishedBefore));

  it('leaves the key of a job that is not final, or that finished after the cut-off', async () => {
    const running = await submitted(parked('recheck-unfinished'));
    await release(running, 'recheck-unfinished', new Date(Date.now() + HOUR));
    expect(await holdersOf(app.db, 'recheck-unfinished')).toEqual([rawId(running)]);

    const recent = await submitted(parked('recheck-recent'));
    await cancel(recent);
    await finishedAgo(recent, HOUR);
    await release(recent, 'recheck-recent', new Date(Date.now() - 2 * HOUR));
    expect(await holdersOf(app.db, 'recheck-recent')).toEqual([rawId(recent)]);

    await release(recent, 'recheck-recent', new Date(Date.now() - HOUR / 2));
    expect(await holdersOf(app.db, 'recheck-recent')).toEqual([]);
  });
});

describe(`with IDEMPOTENCY_KEY_TTL_MS=${TINY_TTL_MS}`, () => {
  it('a job that ran to the end keeps its key for the TTL, then the key starts a new job', async () => {
    const input: SubmitJobInput = { name: 'runs', idempotencyKey: 'runs', tasks: [{ type: 'demo.echo', payload: { hello: 1 } }] };
    const first = await submitted(input, tinyTtlApp.url);
    const finishedAt = await waitForFinish(tinyTtlApp.url, first);
    const { job } = await execute(tinyTtlApp.url, GetJob, { id: first });
    expect(job?.status).toBe('SUCCEEDED');
    // Still within the TTL when this runs at once (unless the machine stalled for the whole TTL).
    if (Date.now() - finishedAt.getTime() < TINY_TTL_MS / 2) expect(await submitted(input, tinyTtlApp.url)).toBe(first);
    await new Promise((resolve) => setTimeout(resolve, finishedAt.getTime() + TINY_TTL_MS + 50 - Date.now()));
    const second = await submitted(input, tinyTtlApp.url);
    expect(second).not.toBe(first);
    expect(await holdersOf(tinyTtlApp.db, 'runs')).toEqual([rawId(second)]);
    expect(await submitted(input, tinyTtlApp.url)).toBe(second);
  });

  it('a job that has not finished keeps its key long past the TTL', async () => {
    const input: SubmitJobInput = { ...parked('waits'), tasks: [{ type: 'demo.echo', payload: 1 }] };
    const first = await submitted(input, tinyTtlApp.url);
    await new Promise((resolve) => setTimeout(resolve, TINY_TTL_MS * 3));
    expect(await submitted(input, tinyTtlApp.url)).toBe(first);
    expect(await submit({ ...input, name: 'changed' }, tinyTtlApp.url)).toMatchObject({
      __typename: 'IdempotencyConflictError',
      existingJobId: first,
    });
  });
});
