import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../src/embedded/host.js';
import { readPidFile } from '../../src/embedded/postmaster.js';
import { killAllJobQlProcesses, startJobQlProcess, waitFor } from '../support/jobql-process.js';
import { isGone, pidsWorkingIn, residentKilobytes, watchdogPids } from '../support/process-table.js';

/**
 * The embedded PostgreSQL lives exactly as long as the jobql process that started it: a SIGKILL
 * (which runs none of its code) stops the database within seconds, through the watchdog, and a
 * normal stop leaves neither the database nor the watchdog behind.
 */

const dataDir = realpathSync(mkdtempSync(path.join(tmpdir(), 'jobql-orphan-')));
const clusterDir = path.join(dataDir, 'pg');

afterAll(async () => {
  killAllJobQlProcesses();
  // When a test failed midway, its database or watchdog may still run.
  for (const pid of await watchdogPids(clusterDir)) process.kill(pid, 'SIGKILL');
  const postmaster = (await readPidFile(clusterDir))?.pid;
  if (postmaster !== undefined && !(await isGone(postmaster))) process.kill(postmaster, 'SIGQUIT');
  await waitFor('the leftover PostgreSQL to exit', async () => ((await pidsWorkingIn(clusterDir)).length === 0 ? true : undefined), 15_000).catch(
    () => undefined,
  );
  rmSync(dataDir, { recursive: true, force: true });
});

async function startOnEmbeddedDatabase() {
  const pgPort = await findFreePort('127.0.0.1');
  // The first start runs initdb: several seconds on a busy machine.
  return startJobQlProcess('all', { DATABASE_URL: '', DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(pgPort) }, { readyTimeoutMs: 90_000 });
}

async function postmasterPid(): Promise<number> {
  const pid = Number.parseInt((await readFile(path.join(clusterDir, 'postmaster.pid'), 'utf8')).split('\n')[0] ?? '', 10);
  if (!Number.isInteger(pid)) throw new Error('postmaster.pid names no pid');
  return pid;
}

async function expectNothingLeft(): Promise<void> {
  await waitFor('no process left in the cluster folder', async () => ((await pidsWorkingIn(clusterDir)).length === 0 ? true : undefined), 10_000);
  // It polls once a second, then notices the postmaster is gone.
  await waitFor('the watchdog to exit', async () => ((await watchdogPids(clusterDir)).length === 0 ? true : undefined), 5_000);
}

describe('embedded PostgreSQL and the life of its owner', () => {
  it('stops within seconds when its owner is SIGKILLed', { timeout: 150_000 }, async () => {
    const owner = await startOnEmbeddedDatabase();
    const postmaster = await postmasterPid();
    const watchdogs = await watchdogPids(clusterDir);
    expect(watchdogs).toHaveLength(1);
    // A shell, not another node process (tens of megabytes).
    expect(await residentKilobytes(watchdogs[0]!)).toBeLessThan(10_000);

    owner.child.kill('SIGKILL');
    await owner.exited;
    const killedAt = Date.now();
    await waitFor('the postmaster to exit', async () => ((await isGone(postmaster)) ? true : undefined), 10_000);
    console.info(`kill -9 of the owner → PostgreSQL gone in ${Date.now() - killedAt} ms`);
    await expectNothingLeft();
  });

  it('leaves neither PostgreSQL nor the watchdog running after a normal SIGTERM stop', { timeout: 150_000 }, async () => {
    const owner = await startOnEmbeddedDatabase();
    const postmaster = await postmasterPid();
    expect(await watchdogPids(clusterDir)).toHaveLength(1);

    owner.child.kill('SIGTERM');
    expect(await owner.exited).toBe(0);
    expect(owner.output()).toContain('"msg":"stopped"');
    expect(await isGone(postmaster)).toBe(true);
    await expectNothingLeft();
  });
});
