import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../src/embedded/host.js';
import { readPidFile } from '../../src/embedded/postmaster.js';
import { execute } from '../support/graphql-client.js';
import { GetJob, SubmitJob } from '../graphql/operations.js';
import { expectSequentialAttempts, type StoredAttempt } from '../support/attempt-history.js';
import { killAllJobQlProcesses, startJobQlProcess, waitFor } from '../support/jobql-process.js';

/**
 * The newcomer's path for real: `npm start` with no DATABASE_URL (embedded PostgreSQL in a data
 * folder), a job running, `kill -9`, start again: every task still finishes.
 */

const dataDir = mkdtempSync(path.join(tmpdir(), 'jobql-fault-'));

afterAll(async () => {
  killAllJobQlProcesses();
  // When the test failed midway, a killed process may have left its PostgreSQL running.
  const pid = await leftOverPostgresPid();
  if (pid) process.kill(pid, 'SIGQUIT');
  rmSync(dataDir, { recursive: true, force: true });
});

async function leftOverPostgresPid(): Promise<number | undefined> {
  return (await readPidFile(path.join(dataDir, 'pg')))?.pid;
}

function startProcess(pgPort: number) {
  return startJobQlProcess('all', {
    DATABASE_URL: '',
    DATA_DIR: dataDir,
    EMBEDDED_PG_PORT: String(pgPort),
    WORKER_CONCURRENCY: '3',
    LEASE_MS: '2000',
    REAPER_INTERVAL_MS: '300',
  });
}

describe('kill -9 mid-job, then start again', () => {
  it('finishes every task, re-running only those the dead process held, never two attempts at once', async () => {
    const pgPort = await findFreePort('127.0.0.1');
    const first = await startProcess(pgPort);
    const { submitJob } = await execute(first.url, SubmitJob, {
      input: {
        name: 'survives kill -9',
        tasks: Array.from({ length: 6 }, () => ({ type: 'demo.sleep', payload: { ms: 2_500, steps: 5 } })),
      },
    });
    if (submitJob.__typename !== 'SubmitJobSuccess') throw new Error('submit failed');
    const jobId = submitJob.job.id;
    await waitFor(
      'tasks to be running',
      async () => {
        const { job } = await execute(first.url, GetJob, { id: jobId });
        return job?.tasks.edges.some((e) => (e.node.progress?.current ?? 0) >= 1) ? true : undefined;
      },
      30_000,
    );

    first.child.kill('SIGKILL');
    await first.exited;
    const killedAt = Date.now();

    const second = await startProcess(pgPort);
    const done = await waitFor(
      'the job to finish after the restart',
      async () => {
        const { job } = await execute(second.url, GetJob, { id: jobId });
        return job && ['SUCCEEDED', 'FAILED', 'PARTIALLY_SUCCEEDED', 'CANCELLED'].includes(job.status) ? job : undefined;
      },
      60_000,
    );
    const recoveredInMs = Date.now() - killedAt;
    console.info(`kill -9 → job final again in ${recoveredInMs} ms (lease 2 s)`);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.tasks.edges.map((e) => e.node.status)).toEqual(Array(6).fill('SUCCEEDED'));

    // The stored attempts: the killed ones ended LEASE_EXPIRED before their next one started.
    const client = new pg.Client({ connectionString: `postgres://postgres:postgres@127.0.0.1:${pgPort}/jobql` });
    await client.connect();
    try {
      const { rows } = await client.query<StoredAttempt>(
        `select task_id as "taskId", number, status, error, started_at as "startedAt", finished_at as "finishedAt"
         from task_attempts order by task_id, number`,
      );
      expect(expectSequentialAttempts(rows, 6, ['LEASE_EXPIRED'])).toBeGreaterThanOrEqual(1);
    } finally {
      await client.end();
    }

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    // A clean stop shuts its PostgreSQL down too, the one left by the killed run included.
    expect(await leftOverPostgresPid()).toBeUndefined();
  });
});
