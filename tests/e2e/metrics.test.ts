import { sql } from 'kysely';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessService } from '../../src/access/index.js';
import { findFreePort } from '../../src/embedded/host.js';
import { SubmitJob } from '../graphql/operations.js';
import { execute } from '../support/graphql-client.js';
import { waitFor } from '../support/jobql-process.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

interface Sample {
  readonly labels?: Record<string, string>;
  readonly value?: string;
  readonly count?: string;
  readonly buckets?: Record<string, string>;
}
interface Family {
  readonly name: string;
  readonly type: string;
  readonly metrics: readonly Sample[];
}

async function scrape(url: string, authorization?: string): Promise<Map<string, Family>> {
  const response = await fetch(url, authorization ? { headers: { authorization } } : {});
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const families = parsePrometheusTextFormat(await response.text()) as Family[];
  return new Map(families.map((family) => [family.name, family]));
}

/** The sum of a family's samples whose labels include `where`. */
function total(families: Map<string, Family>, name: string, where: Record<string, string> = {}): number {
  const family = families.get(name);
  if (!family) throw new Error(`no metric ${name} in: ${[...families.keys()].join(', ')}`);
  return family.metrics
    .filter((sample) => Object.entries(where).every(([key, value]) => sample.labels?.[key] === value))
    .reduce((sum, sample) => sum + Number(sample.value ?? sample.count ?? 0), 0);
}

describe('/metrics', () => {
  let app: TestApp;
  let metricsUrl: string;

  beforeAll(async () => {
    app = await startTestApp({ env: { QUEUE_ADAPTER: 'postgres' } });
    metricsUrl = `${new URL(app.url).origin}/metrics`;
  });
  afterAll(() => app?.stop());

  it("agree with the store on attempts, and show operations, slots, pools and the process's defaults", async () => {
    const submitted = await execute(app.url, SubmitJob, {
      input: { name: 'measured', tasks: [{ type: 'demo.echo', payload: 1 }, { type: 'demo.echo', payload: 2 }, { type: 'demo.fail', payload: { times: 1 } }] },
    });
    expect(submitted.submitJob.__typename).toBe('SubmitJobSuccess');
    const attempts = async (status?: string) =>
      Number((await sql<{ n: string }>`select count(*) as n from task_attempts ${status ? sql`where status = ${status}` : sql``}`.execute(app.db)).rows[0]?.n);
    // Two echoes, and the failing task's failed first attempt and its successful second.
    await waitFor('four finished attempts', async () => ((await attempts('SUCCEEDED')) === 3 && (await attempts('FAILED')) === 1 ? true : undefined), 20_000);
    const families = await scrape(metricsUrl);
    expect(total(families, 'jobql_attempts_started_total')).toBe(await attempts());
    expect(total(families, 'jobql_attempts_ended_total', { outcome: 'succeeded' })).toBe(await attempts('SUCCEEDED'));
    expect(total(families, 'jobql_attempts_ended_total', { outcome: 'failed', type: 'demo.fail' })).toBe(await attempts('FAILED'));
    expect(families.get('jobql_attempt_duration_seconds')?.type).toBe('HISTOGRAM');
    // The parser folds a histogram's labelled series into one set of buckets: one queue here.
    expect(families.get('jobql_pickup_latency_seconds')?.metrics[0]?.buckets?.['+Inf']).toBe('4');
    expect(total(families, 'jobql_worker_slots')).toBe(10);
    expect(total(families, 'graphql_envelop_request', { operationName: 'SubmitJob' })).toBe(1);
    expect(total(families, 'jobql_db_pool_connections', { pool: 'main', state: 'total' })).toBeGreaterThan(0);
    expect(families.get('jobql_db_pool_connections')?.metrics.some((sample) => sample.labels?.['pool'] === 'api')).toBe(true);
    expect(total(families, 'jobql_subscriptions_open')).toBe(0);
    expect(total(families, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  }, 30_000);

  it("show every queue's unfinished tasks by status and its oldest due task's wait, as the store holds them", async () => {
    // A queue no worker serves: its tasks wait, some due now, some later.
    const tasks = [
      ...Array.from({ length: 3 }, (_, n) => ({ type: 'demo.echo', payload: n, queue: 'unserved' })),
      ...Array.from({ length: 2 }, (_, n) => ({ type: 'demo.echo', payload: n, queue: 'unserved', delayMs: 3_600_000 })),
    ];
    expect((await execute(app.url, SubmitJob, { input: { name: 'waiting', tasks } })).submitJob.__typename).toBe('SubmitJobSuccess');
    await sql`update tasks set run_at = now() - interval '90 seconds' where queue = 'unserved' and status = 'QUEUED'`.execute(app.db);
    const families = await scrape(metricsUrl);
    expect(total(families, 'jobql_queue_tasks', { queue: 'unserved', status: 'QUEUED' })).toBe(3);
    expect(total(families, 'jobql_queue_tasks', { queue: 'unserved', status: 'SCHEDULED' })).toBe(2);
    const oldest = total(families, 'jobql_queue_oldest_due_seconds', { queue: 'unserved' });
    expect(oldest).toBeGreaterThanOrEqual(90);
    expect(oldest).toBeLessThan(100);
    expect(families.get('jobql_attempts_expired_total')?.type).toBe('COUNTER');
    expect(total(families, 'jobql_event_bus_listening')).toBe(1);
  });

  it('show the tasks parked on a concurrency key beside the running one', async () => {
    const tasks = Array.from({ length: 3 }, () => ({ type: 'demo.sleep', payload: { ms: 2_000, steps: 1 }, concurrencyKey: 'one-at-a-time' }));
    expect((await execute(app.url, SubmitJob, { input: { name: 'keyed', tasks } })).submitJob.__typename).toBe('SubmitJobSuccess');
    const parked = async () =>
      (await sql<{ n: number }>`select count(*)::int as n from tasks where concurrency_key = 'one-at-a-time' and parked_at is not null`.execute(app.db)).rows[0]?.n;
    await waitFor('two parked tasks', async () => ((await parked()) === 2 ? true : undefined), 10_000);
    const families = await scrape(metricsUrl);
    expect(total(families, 'jobql_queue_tasks', { queue: 'default', status: 'PARKED' })).toBe(2);
    expect(total(families, 'jobql_queue_tasks', { queue: 'default', status: 'RUNNING' })).toBe(1);
  });
});

describe('/metrics with AUTH_MODE=required', () => {
  let app: TestApp;
  let access: AccessService;

  beforeAll(async () => {
    app = await startTestApp({ env: { AUTH_MODE: 'required', QUEUE_ADAPTER: 'memory' } });
    access = new AccessService({ db: app.db, mode: 'required', keyCacheMs: 2_000, jobTokenDefaultSeconds: 900, jobTokenMaxSeconds: 86_400 });
  });
  afterAll(() => app?.stop());

  it("answer an admin key of the operator's tenant only: metrics show every tenant's queues", async () => {
    const url = `${new URL(app.url).origin}/metrics`;
    const bearer = async (tenant: string, scopes: ('admin' | 'read')[]) => `Bearer ${(await access.createKey({ tenant, scopes })).secret}`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: 'Bearer jq_not_a_key' } })).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: await bearer('default', ['read']) } })).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: await bearer('acme', ['admin']) } })).status).toBe(401);
    await scrape(url, await bearer('default', ['admin']));
  });
});

describe('/metrics on METRICS_PORT', () => {
  it('are served there to anyone, and not on the API port', async () => {
    const port = await findFreePort('127.0.0.1');
    const app = await startTestApp({ env: { AUTH_MODE: 'required', QUEUE_ADAPTER: 'memory', METRICS_PORT: String(port) } });
    try {
      const families = await scrape(`http://127.0.0.1:${port}/metrics`);
      expect(families.has('jobql_worker_slots')).toBe(true);
      expect((await fetch(`${new URL(app.url).origin}/metrics`)).status).toBe(404);
    } finally {
      await app.stop();
    }
  });
});
