// Running one postmaster (spawn, readiness, stop) and dealing with one we did
// not start, through its data directory's `postmaster.pid` lock file.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { toError } from '../errors/to-error.js';
import { readFile, readlink, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { findFreePort, isPortFree, type PgBinaries, type RunAs } from './host.js';
import { startOwnerWatchdog } from './owner-watchdog.js';

const execFileAsync = promisify(execFile);

const START_TIMEOUT_MS = 120_000; // generous: crash recovery after a kill may replay WAL

export interface PidFile {
  readonly pid: number;
  readonly port: number | undefined;
  /** 'starting' | 'ready' | 'stopping' | 'standby' (PostgreSQL 10+). */
  readonly status: string | undefined;
}

export function pidFilePath(clusterDir: string): string {
  return join(clusterDir, 'postmaster.pid');
}

/** Parses `postmaster.pid`; `undefined` if absent or unreadable/garbled. */
export async function readPidFile(clusterDir: string): Promise<PidFile | undefined> {
  let text: string;
  try {
    text = await readFile(pidFilePath(clusterDir), 'utf8');
  } catch {
    return undefined;
  }
  // Lines: pid, data dir, start time, port, socket dir, listen addr, shmem key, status.
  const lines = text.split('\n');
  const pid = Number.parseInt(lines[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const port = Number.parseInt(lines[3] ?? '', 10);
  return { pid, port: Number.isInteger(port) ? port : undefined, status: lines[7]?.trim() || undefined };
}

/** Whether a process with this pid exists (zombies count as gone). */
export async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // An orphaned postmaster that exited is reaped by PID 1 — unless PID 1 does not
  // reap (common in containers), leaving a zombie that kill(0) still "finds".
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (macOS) or not readable: trust kill(0)
  }
}

/**
 * Whether `pid` is a postmaster serving `clusterDir`. `undefined` when we cannot
 * tell (not allowed to inspect the process).
 *
 * A stale `postmaster.pid` may name a pid that has since been reused by any
 * process, including some other PostgreSQL — which we must never signal.
 */
export async function isPostmasterOf(pid: number, clusterDir: string): Promise<boolean | undefined> {
  const dir = await realpath(clusterDir);
  try {
    // The postmaster chdir()s into its data directory before writing the lock
    // file, so on Linux its cwd pins the data directory exactly.
    return (await readlink(`/proc/${pid}/cwd`)) === dir;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') return undefined;
    if (await procAvailable()) return false; // the process is gone
  }
  try {
    // Without /proc (macOS): a postmaster keeps its original command line
    // (`postgres -D <dir> ...`); its children retitle themselves.
    const { stdout } = await execFileAsync('ps', ['-o', 'command=', '-p', String(pid)]);
    return /(^|\/)postgres\s/.test(stdout) && stdout.includes(dir);
  } catch {
    return false; // ps exits non-zero when there is no such process
  }
}

async function procAvailable(): Promise<boolean> {
  try {
    await readlink('/proc/self');
    return true;
  } catch {
    return false;
  }
}

/**
 * Shuts a postmaster down: SIGINT ("fast": roll back sessions, checkpoint, exit;
 * what `pg_ctl stop -m fast` sends), escalating to SIGQUIT ("immediate": no
 * checkpoint, WAL replay at next start — still loses nothing committed) and
 * finally SIGKILL if it does not go away.
 */
export async function stopPostmaster(
  pid: number,
  hasExited: () => Promise<boolean>,
  fastTimeoutMs = 30_000,
): Promise<void> {
  const steps: Array<[NodeJS.Signals, number]> = [
    ['SIGINT', fastTimeoutMs],
    ['SIGQUIT', 10_000],
    ['SIGKILL', 5_000],
  ];
  for (const [signal, timeoutMs] of steps) {
    if (await hasExited()) return;
    try {
      process.kill(pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') return;
      throw error;
    }
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await hasExited()) return;
      await sleep(20);
    }
  }
  throw new Error(`PostgreSQL (pid ${pid}) did not exit`);
}

/** Exit check for a postmaster we did not start (e.g. left over by a killed run). */
export function orphanExited(pid: number, clusterDir: string): () => Promise<boolean> {
  // A postmaster removes its lock file as the very last step of a clean shutdown.
  return async () => (await readPidFile(clusterDir))?.pid !== pid || !(await isAlive(pid));
}

export interface RunningServer {
  readonly port: number;
  readonly stop: () => Promise<void>;
}

/**
 * Starts a postmaster on `preferredPort`, or on any free port if that one is taken,
 * and waits until it accepts connections.
 */
export async function launch(options: {
  bins: PgBinaries;
  clusterDir: string;
  logPath: string;
  host: string;
  preferredPort: number;
  runAs: RunAs | undefined;
  log: (message: string) => void;
}): Promise<RunningServer> {
  const { bins, clusterDir, logPath, host, preferredPort, runAs, log } = options;
  let port = preferredPort;
  if (!(await isPortFree(port, host))) {
    port = await findFreePort(host);
    log(`port ${preferredPort} is in use; using port ${port} instead`);
  }
  // The probe above can race with another process grabbing the port: retry a couple of times.
  for (let attempt = 1; ; attempt++) {
    const logOffset = await fileSize(logPath);
    const child = spawnPostmaster(bins, clusterDir, host, port, logPath, runAs);
    const stop = stopperFor(child);
    try {
      await waitUntilReady(child, clusterDir);
    } catch (error) {
      await stop();
      const output = await logSince(logPath, logOffset);
      const detail = tellingLines(output);
      if (attempt < 3 && /could not bind .*address already in use/i.test(output)) {
        const taken = port;
        port = await findFreePort(host);
        log(`port ${taken} was taken meanwhile; retrying on port ${port}`);
        continue;
      }
      throw new Error(detail ? `${toError(error).message}: ${detail}` : toError(error).message);
    }
    // waitUntilReady saw the lock file name this pid, so it is set.
    if (child.pid !== undefined) startOwnerWatchdog(process.pid, child.pid, clusterDir, log);
    let stopRequested = false;
    child.once('exit', (code, signal) => {
      if (!stopRequested) log(`PostgreSQL exited unexpectedly (${signal ?? `code ${code}`}); see ${logPath}`);
    });
    return {
      port,
      stop: () => {
        stopRequested = true;
        return stop();
      },
    };
  }
}

function spawnPostmaster(bins: PgBinaries, clusterDir: string, host: string, port: number, logPath: string, runAs: RunAs | undefined): ChildProcess {
  const settings = {
    listen_addresses: host,
    // TCP only: no socket/lock files in /tmp or /var/run that could clash with another server.
    unix_socket_directories: '',
    // Durability must not depend on whatever postgresql.conf says: committed = on disk.
    fsync: 'on',
    synchronous_commit: 'on',
    full_page_writes: 'on',
  };
  const args = ['-D', clusterDir, '-p', String(port)];
  for (const [name, value] of Object.entries(settings)) args.push('-c', `${name}=${value}`);
  const fd = openSync(logPath, 'a');
  try {
    // detached: its own session, so Ctrl-C in the terminal reaches only node, which
    // stops the database last (after draining). The server log goes to a file,
    // never to our console or a pipe that dies with us.
    const child = spawn(bins.postgres, args, {
      stdio: ['ignore', fd, fd],
      detached: true,
      env: { ...process.env, LC_MESSAGES: 'C' }, // messages before postgresql.conf is read, too
      ...runAs,
    });
    child.unref();
    return child;
  } finally {
    closeSync(fd);
  }
}

async function waitUntilReady(child: ChildProcess, clusterDir: string): Promise<void> {
  let failure: Error | undefined;
  const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
    failure = new Error(`postgres exited during startup (${signal ? `signal ${signal}` : `code ${code}`})`);
  };
  const onError = (error: Error): void => {
    failure = error;
  };
  child.once('exit', onExit);
  child.once('error', onError);
  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (failure) throw failure;
      // Same readiness test pg_ctl -w uses: the lock file's status line says "ready".
      const pidFile = await readPidFile(clusterDir);
      if (pidFile && pidFile.pid === child.pid && pidFile.status === 'ready') return;
      await sleep(20);
    }
    throw new Error(`postgres did not become ready within ${START_TIMEOUT_MS / 1000}s`);
  } finally {
    child.off('exit', onExit);
    child.off('error', onError);
  }
}

/** Idempotent stop for our postmaster child, plus a last-chance shutdown if node exits without calling it. */
function stopperFor(child: ChildProcess): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  const exited = (): boolean => child.exitCode !== null || child.signalCode !== null;
  // 'exit' handlers must be synchronous: just send the fast-shutdown signal.
  // (Does not run on SIGKILL; the owner watchdog stops the server then.)
  const onProcessExit = (): void => {
    if (child.pid !== undefined && !exited()) child.kill('SIGINT');
  };
  process.on('exit', onProcessExit);
  return () => {
    stopping ??= (async () => {
      process.off('exit', onProcessExit);
      if (child.pid === undefined) return; // never spawned
      await stopPostmaster(child.pid, async () => exited());
    })();
    return stopping;
  };
}

async function fileSize(path: string): Promise<number> {
  return stat(path).then((s) => s.size, () => 0);
}

export async function logSince(logPath: string, offset: number): Promise<string> {
  const bytes = await readFile(logPath).catch(() => Buffer.alloc(0));
  return bytes.subarray(offset).toString('utf8');
}

/**
 * The last few lines of `output` that explain a failure, without timestamps.
 * PostgreSQL often says *why* at LOG level just before the FATAL, e.g.
 * `LOG: invalid value for parameter "shared_buffers"` then `FATAL: configuration file ... contains errors`.
 */
export function tellingLines(output: string): string {
  const lines = output
    .split('\n')
    .map((line) => line.replace(/^\d{4}-\d\d-\d\d [\d:.]+ \S+ \[\d+\] /, '').trim())
    .filter(Boolean);
  const telling = lines.filter((line) => /^(FATAL|PANIC|ERROR|WARNING):|^LOG: .*(could not|invalid)|error:/.test(line));
  return (telling.length > 0 ? telling.slice(-3) : lines.slice(-1)).join('; ').replace(/\s+/g, ' ').slice(0, 600);
}

