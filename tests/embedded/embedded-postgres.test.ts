import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chown, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres, type EmbeddedPostgresOptions } from '../../src/embedded/embedded-postgres.js';
import { canReach, resolveRunAs } from '../../src/embedded/host.js';
import { watchdogPids } from '../support/process-table.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const moduleUrl = new URL('../../src/embedded/embedded-postgres.ts', import.meta.url).href;
const pgUrl = pathToFileURL(createRequire(import.meta.url).resolve('pg')).href;
const isRoot = process.getuid?.() === 0;
// The non-root test runs this project's code as the `postgres` user, which needs to reach it.
const projectFile = fileURLToPath(import.meta.url);
const postgresUser = isRoot ? await resolveRunAs(() => {}) : undefined;
const projectReachable = postgresUser ? await canReach(projectFile, postgresUser) : false;
if (isRoot && !projectReachable) {
  console.info(`skipping the non-root test: the "postgres" user cannot enter the folders above ${projectFile}`);
}

const servers: EmbeddedPostgres[] = [];
const dirs: string[] = [];
const children: ChildProcess[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'jobql-embedded-'));
  dirs.push(dir);
  return dir;
}

// initdb is CPU-bound (1-3 s on a busy 2-core box), so most tests start from a
// copy of one template cluster; the fresh-init path has tests of its own.
let templateDir: string | undefined;

beforeAll(async () => {
  templateDir = await mkdtemp(join(tmpdir(), 'jobql-embedded-template-'));
  await (await startEmbeddedPostgres({ dataDir: templateDir })).stop();
}, 60_000);

afterAll(async () => {
  if (templateDir) await rm(templateDir, { recursive: true, force: true });
});

/** A temp data folder holding an initialised, stopped cluster (`cp -a` keeps the postgres user's ownership). */
async function initialisedDir(): Promise<string> {
  const dir = await tempDir();
  if (!templateDir) throw new Error('template cluster missing');
  const cp = spawn('cp', ['-a', join(templateDir, 'pg'), join(dir, 'pg')], { stdio: 'ignore' });
  expect(await exitOf(cp)).toBe(0);
  return dir;
}

async function start(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const server = await startEmbeddedPostgres(options);
  servers.push(server);
  return server;
}

function collectLog(): { log: (message: string) => void; lines: string[] } {
  const lines: string[] = [];
  return { lines, log: (message) => lines.push(message) };
}

async function query<T = Record<string, unknown>>(connectionString: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** pids of live postmasters started on `clusterDir` (children retitle themselves, so only the postmaster matches). */
async function postmastersOf(clusterDir: string): Promise<number[]> {
  const candidates = new Map<number, number>(); // pid → parent pid
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = await readFile(`/proc/${entry}/cmdline`, 'utf8').then((s) => s.split('\0'), (): string[] => []);
    const d = argv.indexOf('-D');
    if (!(argv[0]?.endsWith('/postgres') && d >= 0 && argv[d + 1] === clusterDir)) continue;
    const status = await readFile(`/proc/${entry}/status`, 'utf8').catch(() => '');
    candidates.set(Number(entry), Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0));
  }
  // A child the postmaster has just forked shows its command line until it sets its own title.
  return [...candidates].filter(([, parent]) => !candidates.has(parent)).map(([pid]) => pid);
}

/** Zombie-aware: PID 1 in containers may reap orphans late, and kill(pid, 0) succeeds on zombies. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(20);
  }
}

async function postmasterPid(clusterDir: string): Promise<number> {
  return Number.parseInt((await readFile(join(clusterDir, 'postmaster.pid'), 'utf8')).split('\n')[0] ?? '', 10);
}

/** Runs `code` (an ES module body) in a separate node process with tsx, like `npm start` would. */
function runNode(code: string, options: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
  });
  children.push(child);
  return child;
}

function outputOf(child: ChildProcess): { stdout: () => string; stderr: () => string } {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return { stdout: () => stdout, stderr: () => stderr };
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

afterEach(async () => {
  for (const server of servers.splice(0)) await server.stop();
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  for (const dir of dirs.splice(0)) {
    // Belt and braces: a failed test may leave an orphaned postmaster behind.
    for (const pid of await postmastersOf(join(dir, 'pg'))) {
      process.kill(pid, 'SIGQUIT');
      await waitFor(() => !alive(pid)).catch(() => process.kill(pid, 'SIGKILL'));
    }
    await rm(dir, { recursive: true, force: true });
  }
});

describe('startEmbeddedPostgres', () => {
  it('initialises a fresh folder, starts, and creates the database', async () => {
    const dir = await tempDir();
    const { log, lines } = collectLog();
    const signalListeners = () => ['SIGINT', 'SIGTERM', 'SIGHUP'].map((s) => process.listenerCount(s));
    const listenersBefore = signalListeners();
    const server = await start({ dataDir: dir, log });
    // Unlike importing `embedded-postgres` itself, nothing hijacks the app's signal handling.
    expect(signalListeners()).toEqual(listenersBefore);

    expect(server.connectionString).toMatch(/^postgres:\/\/postgres:postgres@127\.0\.0\.1:\d+\/jobql$/);
    const [row] = await query(
      server.connectionString,
      "SELECT current_database() AS db, current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sync",
    );
    expect(row).toEqual({ db: 'jobql', fsync: 'on', sync: 'on' });
    expect((await stat(join(dir, 'pg', 'PG_VERSION'))).isFile()).toBe(true);
    expect(lines.some((line) => line.includes('initialising'))).toBe(true);
    if (isRoot) expect((await stat(join(dir, 'pg'))).uid).not.toBe(0);

    await server.stop();
    await server.stop(); // idempotent
    expect(await postmastersOf(join(dir, 'pg'))).toEqual([]);
  });

  it('restarts an existing cluster without re-initialising it, keeping data', async () => {
    const dir = await initialisedDir();
    const { log: firstLog, lines: firstLines } = collectLog();
    const first = await start({ dataDir: dir, database: 'persist', log: firstLog });
    expect(firstLines.some((line) => line.includes('initialising'))).toBe(false);
    const sysId = (c: string) => query<{ id: string }>(c, 'SELECT system_identifier::text AS id FROM pg_control_system()');
    const [before] = await sysId(first.connectionString);
    await query(first.connectionString, 'CREATE TABLE kept (v text)');
    await query(first.connectionString, "INSERT INTO kept VALUES ('survives restart')");
    await first.stop();

    const { log, lines } = collectLog();
    const second = await start({ dataDir: dir, database: 'persist', log });
    expect(lines.some((line) => line.includes('initialising'))).toBe(false);
    expect(await sysId(second.connectionString)).toEqual([before]);
    expect(await query(second.connectionString, 'SELECT v FROM kept')).toEqual([{ v: 'survives restart' }]);
  });

  it('takes over from a server left running by a SIGKILLed node process, losing nothing committed', async () => {
    const dir = await initialisedDir();
    const clusterDir = join(dir, 'pg');
    const child = runNode(`
      const { startEmbeddedPostgres } = await import(${JSON.stringify(moduleUrl)});
      const { default: pg } = await import(${JSON.stringify(pgUrl)});
      const db = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dir)} });
      const client = new pg.Client({ connectionString: db.connectionString });
      await client.connect();
      await client.query('CREATE TABLE t (v text)');
      await client.query("INSERT INTO t VALUES ('committed before kill -9')");
      await client.end();
      process.stdout.write('READY\\n');
      setInterval(() => {}, 1000);
    `);
    const out = outputOf(child);
    await waitFor(() => out.stdout().includes('READY') || child.exitCode !== null, 20_000);
    expect(out.stderr()).toBe('');
    const orphan = await postmasterPid(clusterDir);

    // This tests the next start's takeover, for when the owner watchdog (which would stop the orphan within ~1 s) was killed too.
    const watchdogs = await watchdogPids(clusterDir);
    expect(watchdogs).toHaveLength(1);
    for (const pid of watchdogs) process.kill(pid, 'SIGKILL');
    child.kill('SIGKILL');
    await exitOf(child);
    // The postmaster is detached from node: it survives, orphaned, still holding the data folder.
    expect(alive(orphan)).toBe(true);
    expect(await postmastersOf(clusterDir)).toEqual([orphan]);

    const { log, lines } = collectLog();
    const server = await start({ dataDir: dir, log });
    expect(lines.some((line) => line.includes(`left running by an earlier run (pid ${orphan})`))).toBe(true);
    const current = await postmasterPid(clusterDir);
    expect(current).not.toBe(orphan);
    expect(alive(orphan)).toBe(false);
    expect(await postmastersOf(clusterDir)).toEqual([current]); // exactly one postmaster
    expect(await query(server.connectionString, 'SELECT v FROM t')).toEqual([{ v: 'committed before kill -9' }]);
  });

  it('starts despite a stale postmaster.pid (dead pid, or a live non-postgres pid)', async () => {
    const dir = await initialisedDir();
    const clusterDir = join(dir, 'pg');
    const first = await start({ dataDir: dir });
    // A real lock file, as a crashed server would leave it (shmem key, port, ...).
    const realPidFile = await readFile(join(clusterDir, 'postmaster.pid'), 'utf8');
    await first.stop();

    const exited = spawn(process.execPath, ['-e', '']);
    await exitOf(exited);
    const deadPid = exited.pid ?? 0;
    expect(alive(deadPid)).toBe(false);

    for (const stalePid of [deadPid, process.pid]) {
      const stale = realPidFile.replace(/^\d+/, String(stalePid));
      await writeFile(join(clusterDir, 'postmaster.pid'), stale);
      const server = await start({ dataDir: dir });
      expect(await query(server.connectionString, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
      expect(await postmasterPid(clusterDir)).not.toBe(stalePid);
      await server.stop();
    }
    expect(alive(process.pid)).toBe(true);
  });

  it('never stops another PostgreSQL whose pid happens to be in a stale postmaster.pid', async () => {
    const [dirA, dirB] = [await initialisedDir(), await initialisedDir()];
    const a = await start({ dataDir: dirA });
    const lockA = await readFile(join(dirA, 'pg', 'postmaster.pid'), 'utf8');
    await a.stop();
    const b = await start({ dataDir: dirB });
    const pidB = await postmasterPid(join(dirB, 'pg'));

    await writeFile(join(dirA, 'pg', 'postmaster.pid'), lockA.replace(/^\d+/, String(pidB)));
    const again = await start({ dataDir: dirA });
    expect(await query(again.connectionString, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
    expect(alive(pidB)).toBe(true);
    expect(await query(b.connectionString, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
  });

  it('picks another port when the preferred one is in use', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, resolve)); // dual-stack, any free port
    const address = blocker.address();
    const busy = typeof address === 'object' && address ? address.port : 0;
    try {
      const { log, lines } = collectLog();
      const server = await start({ dataDir: await initialisedDir(), port: busy, log });
      const port = Number(new URL(server.connectionString).port);
      expect(port).not.toBe(busy);
      expect(port).not.toBe(5432);
      expect(lines.some((line) => line.includes(`port ${busy} is in use`))).toBe(true);
      expect(await query(server.connectionString, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('reports a clear error with the log path when PostgreSQL cannot start', async () => {
    const dir = await initialisedDir();
    await writeFile(join(dir, 'pg', 'postgresql.auto.conf'), "shared_buffers = 'not a size'\n");
    await expect(startEmbeddedPostgres({ dataDir: dir })).rejects.toThrow(
      /^embedded PostgreSQL failed to start: .*shared_buffers.*; log at .*postgres\.log$/,
    );
    expect(await postmastersOf(join(dir, 'pg'))).toEqual([]);
  });

  it.skipIf(!isRoot || !projectReachable)('also works when not running as root', async () => {
    const dir = await tempDir();
    const ids = { uid: Number(await idOf('-u')), gid: Number(await idOf('-g')) };
    await chown(dir, ids.uid, ids.gid);
    const child = runNode(
      `
      const { startEmbeddedPostgres } = await import(${JSON.stringify(moduleUrl)});
      const { default: pg } = await import(${JSON.stringify(pgUrl)});
      const results = [];
      for (let i = 0; i < 2; i++) {
        const db = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dir)} });
        const client = new pg.Client({ connectionString: db.connectionString });
        await client.connect();
        results.push((await client.query('SELECT current_database() AS db')).rows[0].db);
        await client.end();
        await db.stop();
      }
      process.stdout.write(JSON.stringify({ uid: process.getuid(), results }));
    `,
      { ...ids, env: { ...process.env, HOME: dir } },
    );
    const out = outputOf(child);
    expect(await exitOf(child), out.stderr()).toBe(0);
    expect(JSON.parse(out.stdout())).toEqual({ uid: ids.uid, results: ['jobql', 'jobql'] });
    expect((await stat(join(dir, 'pg'))).uid).toBe(ids.uid);
  });
});

async function idOf(flag: '-u' | '-g'): Promise<string> {
  const child = spawn('id', [flag, 'postgres'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const out = outputOf(child);
  await exitOf(child);
  return out.stdout().trim();
}
