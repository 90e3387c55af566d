import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../../src/tasks/define-task.js';
import { AccessService } from '../../src/access/index.js';
import { PauseQueue, Queues, RateLimits, RemoveRateLimit, SetRateLimit } from '../graphql/operations.js';
import { execute } from '../support/graphql-client.js';
import { submitOrThrow } from '../support/job-operations.js';
import { waitForTasks } from '../support/task-polling.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { TEST_REDIS_URL } from '../support/test-redis.js';

/**
 * A rate limit held by three workers at once, on both distributed adapters, measured from the
 * attempts' start times in the store: no window (aligned to the epoch, as the limit's are) has
 * more starts than the limit, and the full windows between the first and the last run within
 * 10 % of it, so the limit neither leaks nor starves the queue.
 */

const call = defineTask({
  name: 'test.call',
  payload: z.object({ n: z.number() }),
  handler: ({ payload }) => new Promise((resolve) => setTimeout(() => resolve(payload.n), 15)),
});

const MAX_STARTS = 20;
const INTERVAL_MS = 1_000;
/** At most 100: a submission's answer lists the first 100 task ids. */
const TASKS = 100;

const ADAPTERS = [
  { adapter: 'postgres', env: { QUEUE_ADAPTER: 'postgres' } },
  { adapter: 'redis', env: { QUEUE_ADAPTER: 'redis', REDIS_URL: TEST_REDIS_URL } },
] as const;

const apps: TestApp[] = [];
afterEach(async () => {
  for (const app of apps.splice(0).reverse()) await app.stop();
});

/** Attempt starts per window of the limit, from the first start's window to the last's. */
async function startsPerWindow(app: TestApp, queue: string): Promise<number[]> {
  const { rows } = await sql<{ window: string; n: number }>`
    select floor(extract(epoch from a.started_at) * 1000 / ${INTERVAL_MS})::int8 as window, count(*)::int as n
    from task_attempts a join tasks t on t.id = a.task_id where t.queue = ${queue}
    group by 1 order by 1`.execute(app.db);
  const first = Number(rows[0]?.window);
  const last = Number(rows.at(-1)?.window);
  const counts = new Map(rows.map((row) => [Number(row.window), row.n]));
  return Array.from({ length: last - first + 1 }, (_, offset) => counts.get(first + offset) ?? 0);
}

describe.each(ADAPTERS)('a rate limit on $adapter with 3 workers', ({ adapter, env }) => {
  it(`starts at most ${MAX_STARTS} a second across the workers, and within 10 % of that while tasks wait`, async () => {
    const common = { ...env, WORKER_QUEUES: 'calls,default', WORKER_CONCURRENCY: '4', RECONCILE_INTERVAL_MS: '60000' };
    const app = await startTestApp({ env: common, tasks: [call] });
    apps.push(app);
    for (let n = 0; n < 2; n++) apps.push(await startTestApp({ env: common, tasks: [call], schema: app.schema, role: 'worker' }));

    const set = await execute(app.url, SetRateLimit, { input: { scope: 'QUEUE', name: 'calls', maxStarts: MAX_STARTS, intervalMs: INTERVAL_MS } });
    expect(set.setRateLimit).toMatchObject({ __typename: 'SetRateLimitSuccess', rateLimit: { scope: 'QUEUE', name: 'calls', maxStarts: MAX_STARTS } });
    const job = await submitOrThrow(app.url, {
      name: 'calls',
      tasks: Array.from({ length: TASKS }, (_, n) => ({ type: 'test.call', queue: 'calls', payload: { n } })),
    });
    // Another queue, unlimited, runs at once beside it.
    const free = await submitOrThrow(app.url, { name: 'free', tasks: Array.from({ length: 50 }, (_, n) => ({ type: 'test.call', payload: { n } })) });
    await waitForTasks(app.url, free.taskIds, 'SUCCEEDED', 5_000);
    await waitForTasks(app.url, job.taskIds, 'SUCCEEDED', 30_000);

    const windows = await startsPerWindow(app, 'calls');
    const full = windows.slice(1, -1);
    const rate = full.reduce((sum, n) => sum + n, 0) / full.length;
    console.log(`[rate-limit:${adapter}] starts per ${INTERVAL_MS} ms window: ${JSON.stringify(windows)}; full windows' mean ${rate.toFixed(1)} of ${MAX_STARTS}`);
    expect(Math.max(...windows)).toBeLessThanOrEqual(MAX_STARTS);
    expect(full.length).toBeGreaterThanOrEqual(Math.floor(TASKS / MAX_STARTS) - 2);
    expect(rate).toBeGreaterThanOrEqual(MAX_STARTS * 0.9);
    const { queues } = await execute(app.url, Queues, {});
    expect(queues.find((queue) => queue.name === 'calls')?.rateLimit).toEqual({ maxStarts: MAX_STARTS, intervalMs: INTERVAL_MS });
  });
});

describe('rate limits', () => {
  it('limits a task type on any queue, refuses bad input without writing, and is removed', async () => {
    const app = await startTestApp({ env: { QUEUE_ADAPTER: 'memory', WORKER_CONCURRENCY: '8' }, tasks: [call] });
    apps.push(app);
    const bad = await execute(app.url, SetRateLimit, { input: { scope: 'QUEUE', name: ' spaced', maxStarts: 0, intervalMs: 10 } });
    expect(bad.setRateLimit).toMatchObject({ __typename: 'ValidationError' });
    const paths = bad.setRateLimit.__typename === 'ValidationError' ? bad.setRateLimit.details.map((detail) => detail.path).sort() : [];
    expect(paths).toEqual(['intervalMs', 'maxStarts', 'name']);
    expect((await execute(app.url, RateLimits, {})).rateLimits).toEqual([]);

    await execute(app.url, SetRateLimit, { input: { scope: 'TYPE', name: 'test.call', maxStarts: 5, intervalMs: 60_000 } });
    const job = await submitOrThrow(app.url, { name: 'typed', tasks: Array.from({ length: 12 }, (_, n) => ({ type: 'test.call', payload: { n } })) });
    await expect
      .poll(async () => (await sql<{ n: number }>`select count(*)::int as n from task_attempts`.execute(app.db)).rows[0]?.n, { timeout: 5_000 })
      .toBe(5);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const { rows } = await sql<{ status: string; n: number }>`select status, count(*)::int as n from tasks group by status order by status`.execute(app.db);
    expect(rows).toEqual([
      { status: 'QUEUED', n: 7 },
      { status: 'SUCCEEDED', n: 5 },
    ]);
    expect((await execute(app.url, RateLimits, {})).rateLimits).toMatchObject([{ scope: 'TYPE', name: 'test.call', maxStarts: 5, intervalMs: 60_000 }]);

    const removed = await execute(app.url, RemoveRateLimit, { scope: 'TYPE', name: 'test.call' });
    expect(removed.removeRateLimit).toMatchObject({ __typename: 'RemoveRateLimitSuccess', rateLimit: { name: 'test.call' } });
    // Held back to the next minute's window: they start then, not at the removal.
    const { rows: due } = await sql<{ runAt: Date }>`select run_at from tasks where status = 'QUEUED'`.execute(app.db);
    expect(due.every((row) => row.runAt.getTime() > Date.now())).toBe(true);
    const again = await execute(app.url, RemoveRateLimit, { scope: 'TYPE', name: 'test.call' });
    expect(again.removeRateLimit).toMatchObject({ __typename: 'NotFoundError' });
    expect(job.taskIds).toHaveLength(12);
  });
});

describe('the controls with AUTH_MODE=required', () => {
  it("answer only an admin key of the operator's tenant: a queue and its limits serve every tenant", async () => {
    const app = await startTestApp({ env: { AUTH_MODE: 'required', QUEUE_ADAPTER: 'memory' }, tasks: [call] });
    apps.push(app);
    const access = new AccessService({ db: app.db, mode: 'required', keyCacheMs: 2_000, jobTokenDefaultSeconds: 900, jobTokenMaxSeconds: 86_400 });
    const caller = async (tenant: string, scopes: ('admin' | 'read')[]) => ({ authorization: (await access.createKey({ tenant, scopes })).secret });
    const input = { scope: 'QUEUE', name: 'calls', maxStarts: 5, intervalMs: 1_000 } as const;
    for (const who of [await caller('acme', ['admin']), await caller('default', ['read'])]) {
      expect((await execute(app.url, SetRateLimit, { input }, who)).setRateLimit).toMatchObject({ __typename: 'AuthorizationError' });
      expect((await execute(app.url, PauseQueue, { name: 'calls' }, who)).pauseQueue).toMatchObject({ __typename: 'AuthorizationError' });
    }
    const { rows } = await sql<{ n: number }>`select (select count(*) from rate_limits)::int + (select count(*) from queue_controls)::int as n`.execute(app.db);
    expect(rows[0]?.n).toBe(0);
    const operator = await caller('default', ['admin']);
    expect((await execute(app.url, SetRateLimit, { input }, operator)).setRateLimit).toMatchObject({ __typename: 'SetRateLimitSuccess' });
    // Any tenant's reader sees the limits its tasks run under.
    expect((await execute(app.url, RateLimits, {}, await caller('acme', ['read']))).rateLimits).toMatchObject([{ name: 'calls', setBy: expect.any(String) }]);
  });
});
