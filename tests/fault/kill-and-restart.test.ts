import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../src/embedded/host.js';
import { readPidFile } from '../../src/embedded/postmaster.js';
import { execute } from '../support/graphql-client.js';
import { GetJob, SubmitJob } from '../graphql/operations.js';

/**
 * The newcomer's path for real: `npm start` with no DATABASE_URL (embedded PostgreSQL in a data
 * folder), a job running, `kill -9`, start again: every task still finishes.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const dataDir = mkdtempSync(path.join(tmpdir(), 'jobql-fault-'));
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  // When the test failed midway, a killed process may have left its PostgreSQL running.
  const pid = await leftOverPostgresPid();
  if (pid) process.kill(pid, 'SIGQUIT');
  rmSync(dataDir, { recursive: true, force: true });
});

async function leftOverPostgresPid(): Promise<number | undefined> {
  return (await readPidFile(path.join(dataDir, 'pg')))?.pid;
}

async function startProcess(pgPort: number): Promise<{ child: ChildProcess; url: string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: '',
      DATA_DIR: dataDir,
      EMBEDDED_PG_PORT: String(pgPort),
      PORT: '0',
      HOST: '127.0.0.1',
      WORKER_CONCURRENCY: '3',
      LEASE_MS: '2000',
      REAPER_INTERVAL_MS: '300',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within 60 s:\n${output}`)), 60_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /"url":"(http:[^"]+)"/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => reject(new Error(`process exited (${code}) before it was ready:\n${output}`)));
  });
  return { child, url, exited };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
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
      const { rows } = await client.query<{ task_id: string; number: number; status: string; error: { code: string } | null; started_at: Date; finished_at: Date | null }>(
        'select task_id, number, status, error, started_at, finished_at from task_attempts order by task_id, number',
      );
      const byTask = new Map<string, typeof rows>();
      for (const row of rows) byTask.set(row.task_id, [...(byTask.get(row.task_id) ?? []), row]);
      expect(byTask.size).toBe(6);
      let rerun = 0;
      for (const attempts of byTask.values()) {
        expect(attempts.at(-1)?.status).toBe('SUCCEEDED');
        for (let i = 1; i < attempts.length; i++) {
          const previous = attempts[i - 1];
          const next = attempts[i];
          expect(previous?.status).toBe('FAILED');
          expect(previous?.error?.code).toBe('LEASE_EXPIRED');
          expect(next?.started_at.getTime()).toBeGreaterThanOrEqual(previous?.finished_at?.getTime() ?? Infinity);
          rerun += 1;
        }
      }
      expect(rerun).toBeGreaterThanOrEqual(1);
    } finally {
      await client.end();
    }

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    // A clean stop shuts its PostgreSQL down too, the one left by the killed run included.
    expect(await leftOverPostgresPid()).toBeUndefined();
  });
});
