// Reads the Linux process table (/proc) for tests that check which processes
// a run leaves behind.
import { readdir, readFile, readlink } from 'node:fs/promises';
import { WATCHDOG_NAME } from '../../src/embedded/owner-watchdog.js';

/** One process, as /proc/<pid>/stat describes it. */
export interface ProcessEntry {
  readonly pid: number;
  readonly parent: number;
  /** Clock ticks after boot: with the pid, names one process even after its pid is reused. */
  readonly startTime: string;
  readonly zombie: boolean;
}

/** `pid`'s entry, or undefined when there is no such process. */
export async function processEntry(pid: number): Promise<ProcessEntry | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  // After the command name, which may hold any character: state, ppid, ...; starttime is field 22.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { pid, parent: Number(fields[1]), startTime: fields[19] ?? '', zombie: fields[0] === 'Z' };
}

/** Gone: no such process, or a zombie (an orphan's new parent may reap it late). */
export async function isGone(pid: number): Promise<boolean> {
  const entry = await processEntry(pid);
  return entry === undefined || entry.zombie;
}

/** The pids /proc lists now. */
export async function processIds(): Promise<number[]> {
  return (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
}

/** Every process still there once its entry is read (zombies included). */
export async function allProcesses(): Promise<ProcessEntry[]> {
  const entries = await Promise.all((await processIds()).map((pid) => processEntry(pid)));
  return entries.filter((entry): entry is ProcessEntry => entry !== undefined);
}

/** Every live process whose chain of parents leads to `ancestor`. */
export async function descendantsOf(ancestor: number): Promise<ProcessEntry[]> {
  const processes = await allProcesses();
  const byPid = new Map(processes.map((entry) => [entry.pid, entry]));
  return processes.filter((entry) => {
    for (let parent = entry.parent; parent > 1; parent = byPid.get(parent)?.parent ?? 0) {
      if (parent === ancestor) return !entry.zombie;
    }
    return false;
  });
}

/** Those of `entries` still running, and not merely a later process with a reused pid. */
export async function stillRunning(entries: readonly ProcessEntry[]): Promise<ProcessEntry[]> {
  const now = await Promise.all(entries.map((entry) => processEntry(entry.pid)));
  return entries.filter((entry, i) => now[i] !== undefined && now[i].startTime === entry.startTime && !now[i].zombie);
}

/**
 * Every process working in `dir`, a real path (/proc shows it with symlinks resolved). For a
 * cluster folder: the postmaster and its backends.
 */
export async function pidsWorkingIn(dir: string): Promise<number[]> {
  const found: number[] = [];
  for (const pid of await processIds()) {
    if ((await readlink(`/proc/${pid}/cwd`).catch(() => undefined)) === dir) found.push(pid);
  }
  return found;
}


/**
 * The owner watchdogs (src/embedded/owner-watchdog.ts) of the embedded PostgreSQL on
 * `clusterDir`, recognised by their argv: `sh -c <script> jobql-postgres-watchdog <owner>
 * <postmaster> <clusterDir>` (argv[0] is `sh`; the name is the script's $0). A subshell the
 * watchdog has just forked shows the same argv, so only the topmost match counts.
 */
export async function watchdogPids(clusterDir: string): Promise<number[]> {
  const matches = new Map<number, number>(); // pid → parent pid
  for (const { pid, parent } of await allProcesses()) {
    const argv = await readFile(`/proc/${pid}/cmdline`, 'utf8').then((text) => text.split('\0'), (): string[] => []);
    if (argv[1] === '-c' && argv[3] === WATCHDOG_NAME && argv[6] === clusterDir) matches.set(pid, parent);
  }
  return [...matches].filter(([, parent]) => !matches.has(parent)).map(([pid]) => pid);
}

/** `pid`'s resident memory (VmRSS) in kB; NaN when /proc shows none. Throws when there is no such process. */
export async function residentKilobytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN);
}
