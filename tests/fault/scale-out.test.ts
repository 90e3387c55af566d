import { sql } from 'kysely';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createDatabase, type Db } from '../../src/store/database.js';
import { GetJob, SubmitJob } from '../graphql/operations.js';
import { expectSequentialAttempts, type StoredAttempt } from '../support/attempt-history.js';
import { execute } from '../support/graphql-client.js';
import { watchJob } from '../support/job-operations.js';
import { killAllJobQlProcesses, startJobQlProcess, waitFor, type JobQlProcess } from '../support/jobql-process.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { dropSchema, newSchemaName, TEST_DATABASE_URL } from '../support/test-database.js';

/**
 * One API process and two worker processes on a shared database (and Redis), a job of 200
 * tasks, and a fault mid-run. Whatever the fault, every task ends SUCCEEDED, no task ever had
 * two live attempts, and a subscriber on the API saw the job's final status.
 */

const TASKS = 200;
const FINAL = ['SUCCEEDED', 'FAILED', 'PARTIALLY_SUCCEEDED', 'CANCELLED'];

interface Deployment {
  readonly schema: string;
  readonly api: JobQlProcess;
  readonly workers: JobQlProcess[];
  readonly db: Db;
  readonly ws: Client;
  readonly workerEnv: Record<string, string>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});
afterAll(() => killAllJobQlProcesses());

function withApplicationName(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('application_name', name);
  return parsed.toString();
}

async function deploy(adapterEnv: Record<string, string>): Promise<Deployment> {
  const schema = newSchemaName('fault');
  cleanups.push(() => dropSchema(schema));
  const common = {
    DATABASE_SCHEMA: schema,
    WORKER_CONCURRENCY: '5',
    LEASE_MS: '2000',
    REAPER_INTERVAL_MS: '300',
    RECONCILE_INTERVAL_MS: '1000',
    POLL_INTERVAL_MS: '500',
    SHUTDOWN_GRACE_MS: '2000',
    // Far beyond the test, so the subscription hears the job's events through the bus or not at all.
    SUBSCRIPTION_RESYNC_MS: '600000',
    ...adapterEnv,
  };
  const api = await startJobQlProcess('api', { ...common, DATABASE_URL: withApplicationName(TEST_DATABASE_URL, `${schema}_api`) });
  const workerEnv = { ...common, DATABASE_URL: withApplicationName(TEST_DATABASE_URL, `${schema}_worker`) };
  const workers = await Promise.all([startJobQlProcess('worker', workerEnv), startJobQlProcess('worker', workerEnv)]);
  const db = createDatabase({ connectionString: TEST_DATABASE_URL, schema, maxConnections: 2 });
  const ws = createClient({ url: api.url.replace('http', 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
  cleanups.push(async () => {
    await ws.dispose();
    await db.destroy();
  });
  cleanups.push(async () => {
    for (const child of [api, ...workers]) child.child.kill('SIGKILL');
  });
  return { schema, api, workers, db, ws, workerEnv };
}

async function succeededCount(deployment: Deployment, jobId: string): Promise<number> {
  const { job } = await execute(deployment.api.url, GetJob, { id: jobId });
  return job?.taskCounts.succeeded ?? 0;
}

/** Submits the job, runs `fault` once a fifth of it is done, and checks the promises above. */
async function survives(deployment: Deployment, faultName: string, fault: () => Promise<void>): Promise<void> {
  const { submitJob } = await execute(deployment.api.url, SubmitJob, {
    input: {
      name: `survives ${faultName}`,
      tasks: Array.from({ length: TASKS }, () => ({ type: 'demo.sleep', payload: { ms: 120, steps: 2 } })),
    },
  });
  if (submitJob.__typename !== 'SubmitJobSuccess') throw new Error(`submit failed: ${JSON.stringify(submitJob)}`);
  const jobId = submitJob.job.id;
  const watched = watchJob(deployment.ws, jobId);

  await waitFor('a fifth of the tasks to succeed', async () => ((await succeededCount(deployment, jobId)) >= TASKS / 5 ? true : undefined), 60_000, 50);
  const doneBefore = await succeededCount(deployment, jobId);
  const isFinalEvent = (event: { type: string; jobStatus: string | null }): boolean =>
    event.type === 'JOB_STATUS_CHANGED' && event.jobStatus !== null && FINAL.includes(event.jobStatus);
  const finalEvent = watched.waitFor(isFinalEvent, 120_000).then((event) => ({ event, at: Date.now() }));
  finalEvent.catch(() => {});
  const faultAt = Date.now();
  await fault();
  const job = await explainFailure(deployment, waitFor(
    'the job to be final',
    async () => {
      const { job: current } = await execute(deployment.api.url, GetJob, { id: jobId });
      return current && FINAL.includes(current.status) ? current : undefined;
    },
    Number(process.env['FAULT_FINAL_TIMEOUT_MS'] ?? 90_000),
    100,
  ));
  const polledFinalAt = Date.now();
  const recoveredMs = polledFinalAt - faultAt;
  const final = await Promise.race([
    finalEvent,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the subscription did not see the final status within 10 s')), 10_000)),
  ]);

  const { rows: attempts } = await sql<StoredAttempt>`
    select a.task_id as "taskId", a.number, a.status, a.error, a.started_at as "startedAt", a.finished_at as "finishedAt"
    from task_attempts a join tasks t on t.id = a.task_id
    where t.job_id = ${fromGlobalId(jobId)}`.execute(deployment.db);
  const reruns = expectSequentialAttempts(attempts, TASKS, ['LEASE_EXPIRED', 'SHUTDOWN']);
  // A deadlock is retried, yet it is a defect: every writer locks a job's tasks in rank order, then the job.
  const deadlocked = [deployment.api, ...deployment.workers].filter((p) => p.output().includes('deadlock detected'));
  expect(deadlocked.map((p) => p.output().slice(-2_000)), 'a process logged a deadlock').toEqual([]);
  console.info(
    `[fault:${faultName}] ${TASKS} tasks, fault after ${doneBefore} succeeded; job ${job.status} ${recoveredMs} ms after the fault; ${reruns} attempts re-run`,
  );
  expect(job.status).toBe('SUCCEEDED');
  expect(job.taskCounts.succeeded).toBe(TASKS);
  expect(final.event.jobStatus).toBe('SUCCEEDED');
}

/** On failure, adds what the store and the processes say to the error, so a red run explains itself. */
async function explainFailure<T>(deployment: Deployment, promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    const { rows } = await sql<{ status: string; n: string }>`select status, count(*) as n from tasks group by status`.execute(deployment.db);
    const { rows: deliveries } = await sql<{ n: string }>`select count(*) as n from queue_deliveries`.execute(deployment.db);
    const { rows: sessions } = await sql<{ app: string; state: string; wait: string | null; query: string }>`
      select application_name as app, state, wait_event_type || ':' || wait_event as wait, left(query, 100) as query
      from pg_stat_activity where application_name like ${`${deployment.schema}%`}`.execute(deployment.db);
    const { rows: running } = await sql<Record<string, unknown>>`
      select t.id, t.attempt, t.worker_id, t.lease_expires_at, t.progress,
        (select json_agg(json_build_object('seq', e.seq, 'type', e.type, 'at', e.at, 'data', e.data) order by e.seq)
         from job_events e where e.task_id = t.id) as events
      from tasks t where t.status = 'RUNNING'`.execute(deployment.db);
    const tails = [deployment.api, ...deployment.workers].map((p, i) => `--- process ${i} ---\n${p.output().slice(-4_000)}`);
    throw new Error(`${String(error)}\ntasks by status: ${JSON.stringify(rows)}; delivery rows: ${deliveries[0]?.n}\nrunning: ${JSON.stringify(running)}\nsessions: ${JSON.stringify(sessions, null, 1)}\n${tails.join('\n')}`);
  }
}

function fromGlobalId(id: string): string {
  const [, raw] = Buffer.from(id, 'base64').toString('utf8').split(':');
  return raw ?? id;
}

async function stopsCleanly(deployment: Deployment): Promise<void> {
  const live = [deployment.api, ...deployment.workers].filter((p) => p.child.exitCode === null && p.child.signalCode === null);
  for (const process of live) process.child.kill('SIGTERM');
  expect(await Promise.all(live.map((p) => p.exited))).toEqual(live.map(() => 0));
}

describe('scale-out on the postgres adapter', () => {
  const adapterEnv = { QUEUE_ADAPTER: 'postgres' };

  it('survives kill -9 of a worker mid-run', { timeout: 120_000 }, async () => {
    const deployment = await deploy(adapterEnv);
    await survives(deployment, 'postgres: kill -9 worker', async () => {
      const victim = deployment.workers[0]!;
      victim.child.kill('SIGKILL');
      await victim.exited;
    });
    await stopsCleanly(deployment);
  });

  it("survives pg_terminate_backend of the workers' connections mid-run", { timeout: 120_000 }, async () => {
    const deployment = await deploy(adapterEnv);
    await survives(deployment, 'postgres: terminate worker connections', async () => {
      const { rows } = await sql<{ terminated: boolean }>`
        select pg_terminate_backend(pid) as terminated from pg_stat_activity
        where application_name = ${`${deployment.schema}_worker`}`.execute(deployment.db);
      expect(rows.filter((row) => row.terminated).length).toBeGreaterThanOrEqual(2);
    });
    await stopsCleanly(deployment);
  });
});

describe('scale-out on the redis adapter', () => {
  /** A Redis of the test's own, so restarting it disturbs nobody. */
  async function ownRedis(): Promise<RedisServer> {
    const server = await startRedisServer();
    cleanups.push(() => server.stop());
    return server;
  }

  it('survives kill -9 of a worker mid-run', { timeout: 120_000 }, async () => {
    const redis = await ownRedis();
    const deployment = await deploy({ QUEUE_ADAPTER: 'redis', REDIS_URL: redis.url });
    await survives(deployment, 'redis: kill -9 worker', async () => {
      const victim = deployment.workers[0]!;
      victim.child.kill('SIGKILL');
      await victim.exited;
    });
    await stopsCleanly(deployment);
  });

  it('survives a restart of redis-server, empty, mid-run', { timeout: 120_000 }, async () => {
    const redis = await ownRedis();
    const deployment = await deploy({ QUEUE_ADAPTER: 'redis', REDIS_URL: redis.url });
    await survives(deployment, 'redis: restart redis-server', () => redis.restart({ downMs: 500 }));
    await stopsCleanly(deployment);
  });
});
