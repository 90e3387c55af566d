import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../src/embedded/host.js';
import { PROJECT_ROOT, waitFor } from '../support/jobql-process.js';
import { descendantsOf, pidsWorkingIn, stillRunning, type ProcessEntry } from '../support/process-table.js';

/**
 * A process manager, or a terminal, signals the process it started: `npm start`. npm passes
 * SIGTERM and SIGINT on to its script only, so the script must be jobql itself (no shell, no
 * wrapper in between), or jobql would run on, orphaned, with its database.
 */

const dataDir = realpathSync(mkdtempSync(path.join(tmpdir(), 'jobql-npm-')));
const clusterDir = path.join(dataDir, 'pg');
const started: ChildProcess[] = [];
const startedTrees: ProcessEntry[][] = [];

afterAll(async () => {
  // When a test failed midway: whatever still runs of what it started.
  for (const npm of started) if (npm.exitCode === null && npm.signalCode === null) npm.kill('SIGKILL');
  for (const { pid } of await stillRunning(startedTrees.flat())) process.kill(pid, 'SIGKILL');
  for (const pid of await pidsWorkingIn(clusterDir)) process.kill(pid, 'SIGQUIT');
  await waitFor('the leftover PostgreSQL to exit', async () => ((await pidsWorkingIn(clusterDir)).length === 0 ? true : undefined), 15_000).catch(
    () => undefined,
  );
  rmSync(dataDir, { recursive: true, force: true });
});

async function startThroughNpm(): Promise<{ pid: number; exited: Promise<number | null>; output: () => string }> {
  const pgPort = await findFreePort('127.0.0.1');
  const npm = spawn('npm', ['start'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, DATABASE_URL: '', DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', EMBEDDED_PG_PORT: String(pgPort), LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (npm.pid === undefined) throw new Error('npm did not start');
  started.push(npm);
  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
  let output = '';
  npm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  // The first start runs initdb: several seconds on a busy machine.
  await waitFor(
    'the ready line',
    async () => {
      if (exitCode !== undefined) throw new Error(`npm start exited (${exitCode}) before it was ready:\n${output}`);
      return output.includes('"url":"http:') ? true : undefined;
    },
    90_000,
  );
  return { pid: npm.pid, exited, output: () => output };
}

describe('npm start under a process manager', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('stops cleanly on %s sent to npm, its database too', { timeout: 150_000 }, async (signal) => {
    const npm = await startThroughNpm();
    const tree = await descendantsOf(npm.pid);
    startedTrees.push(tree);
    expect(tree.length).toBeGreaterThan(0);
    expect((await pidsWorkingIn(clusterDir)).length).toBeGreaterThan(0);

    process.kill(npm.pid, signal);
    const code = await Promise.race([npm.exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 30_000))]);
    expect(code, npm.output()).toBe(0);
    expect(npm.output()).toContain('"msg":"stopped"');
    expect(await pidsWorkingIn(clusterDir)).toEqual([]);
    // The watchdog polls once a second, then notices its postmaster is gone.
    await waitFor('every process npm started to exit', async () => ((await stillRunning(tree)).length === 0 ? true : undefined), 5_000);
  });
});
