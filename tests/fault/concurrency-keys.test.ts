import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { SubmitJob } from '../graphql/operations.js';
import { execute } from '../support/graphql-client.js';
import { killAllJobQlProcesses, startJobQlProcess } from '../support/jobql-process.js';
import { submitOrThrow } from '../support/job-operations.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { TEST_DATABASE_URL } from '../support/test-database.js';

/**
 * Concurrency keys across three workers (two in this process, one a process of its own that is
 * killed with SIGKILL midway): 1,000 tasks of three keys, and how many of each key ran at once,
 * measured from the attempts' start and end times, never above its limit; and a key with one task,
 * submitted behind all of them, starts at once.
 */

const LIMITS = { a: 3, b: 1, c: 5 } as const;
const COUNTS = { a: 600, b: 300, c: 100 } as const;

const apps: TestApp[] = [];
afterAll(async () => {
  killAllJobQlProcesses();
  for (const app of apps.splice(0).reverse()) await app.stop();
});

/** The most attempts of each key that overlapped, an attempt running from its start to its end (or now). */
async function mostAtOnce(app: TestApp): Promise<Record<string, number>> {
  const { rows } = await sql<{ key: string; most: number }>`
    with edges as (
      select t.concurrency_key as key, a.started_at as at, 1 as delta from task_attempts a join tasks t on t.id = a.task_id where t.concurrency_key is not null
      union all
      select t.concurrency_key, coalesce(a.finished_at, now()), -1 from task_attempts a join tasks t on t.id = a.task_id where t.concurrency_key is not null
    )
    select key, max(running)::int as most from (
      select key, sum(delta) over (partition by key order by at, delta rows unbounded preceding) as running from edges
    ) r group by key order by key`.execute(app.db);
  return Object.fromEntries(rows.map((row) => [row.key, row.most]));
}

describe('concurrency keys with three workers', () => {
  it('never run more of a key than its limit through 1,000 tasks and a kill -9, and a lone key starts at once', async () => {
    const env = { QUEUE_ADAPTER: 'postgres', WORKER_CONCURRENCY: '8', LEASE_MS: '2000', REAPER_INTERVAL_MS: '300', RECONCILE_INTERVAL_MS: '1000' };
    const app = await startTestApp({ env });
    apps.push(app);
    apps.push(await startTestApp({ env, role: 'worker', schema: app.schema }));
    const child = await startJobQlProcess('worker', { ...env, DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: app.schema });

    const tasks = (Object.keys(COUNTS) as (keyof typeof COUNTS)[]).flatMap((key) =>
      Array.from({ length: COUNTS[key] }, () => ({ type: 'demo.sleep', payload: { ms: 10, steps: 1 }, concurrencyKey: key, concurrencyLimit: LIMITS[key] })),
    );
    const big = await execute(app.url, SubmitJob, { input: { name: 'keyed', tasks } });
    expect(big.submitJob.__typename).toBe('SubmitJobSuccess');
    await submitOrThrow(app.url, { name: 'lone', tasks: [{ type: 'demo.sleep', payload: { ms: 10, steps: 1 }, concurrencyKey: 'lone' }] });
    const loneSubmittedAt = Date.now();

    // Killed while it runs some of them, after 300 attempts: they stay RUNNING, and count, until their leases expire.
    const childRunning = async () =>
      (await sql<{ started: number; n: number }>`
        select (select count(*) from task_attempts)::int as started,
          (select count(*) from tasks t join workers w on w.id = t.worker_id where t.status = 'RUNNING' and w.pid = ${child.child.pid ?? 0})::int as n`.execute(app.db)).rows[0];
    await expect.poll(async () => {
      const now = await childRunning();
      return (now?.started ?? 0) >= 300 && (now?.n ?? 0) > 0;
    }, { timeout: 20_000, interval: 5 }).toBe(true);
    child.child.kill('SIGKILL');
    await child.exited;

    const succeeded = async () => (await sql<{ n: number }>`select count(*)::int as n from tasks where status = 'SUCCEEDED'`.execute(app.db)).rows[0]?.n;
    await expect.poll(succeeded, { timeout: 60_000, interval: 100 }).toBe(1_001);

    const most = await mostAtOnce(app);
    const { rows } = await sql<{ startedAt: Date }>`select t.started_at from tasks t join jobs j on j.id = t.job_id where j.name = 'lone'`.execute(app.db);
    const loneWaitMs = (rows[0]?.startedAt.getTime() ?? Number.NaN) - loneSubmittedAt;
    const expired = (await sql<{ n: number }>`select count(*)::int as n from task_attempts where error->>'code' = 'LEASE_EXPIRED'`.execute(app.db)).rows[0]?.n;
    console.log(`[concurrency-keys] most at once ${JSON.stringify(most)} (limits ${JSON.stringify(LIMITS)}); the lone key's task started ${loneWaitMs} ms after its submission; ${expired} attempts ended by the reaper`);
    expect(expired).toBeGreaterThan(0);
    for (const key of Object.keys(LIMITS) as (keyof typeof LIMITS)[]) {
      expect(most[key], key).toBeLessThanOrEqual(LIMITS[key]);
      expect(most[key], `${key} used its room`).toBeGreaterThanOrEqual(Math.min(2, LIMITS[key]));
    }
    expect(loneWaitMs).toBeLessThan(2_000);
  }, 120_000);
});
