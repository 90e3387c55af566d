import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { BuiltJobQl } from '../../bench/lib/built-jobql.js';
import type { ProcessRole } from '../../src/config.js';

export const PROJECT_ROOT = path.resolve(import.meta.dirname, '../..');

const ENTRY: Record<ProcessRole, string> = {
  all: 'src/main.ts',
  api: 'src/server-main.ts',
  worker: 'src/worker-main.ts',
};

export interface JobQlProcess {
  readonly child: ChildProcess;
  /** The GraphQL endpoint, or a worker's health URL. */
  readonly url: string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Everything it printed so far, for failure messages. */
  output(): string;
}

const running = new Set<ChildProcess>();

export interface JobQlProcessOptions {
  readonly readyTimeoutMs?: number;
  /** Given to node before the entry module. */
  readonly nodeArgs?: readonly string[];
  /** A build (buildJobQl): runs its JavaScript with plain node, no tsx. */
  readonly builtIn?: BuiltJobQl;
}

/**
 * A real jobql process (node + tsx, as `npm start|run server|run worker`, or the built JavaScript),
 * resolved once it logs its URL.
 */
export async function startJobQlProcess(role: ProcessRole, env: Record<string, string>, options: JobQlProcessOptions = {}): Promise<JobQlProcess> {
  const { readyTimeoutMs = 60_000, nodeArgs = [], builtIn } = options;
  const entry = builtIn === undefined ? ['--import', 'tsx', ENTRY[role]] : [builtIn.entry(ENTRY[role])];
  const child = spawn(process.execPath, [...nodeArgs, ...entry], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${role}: no ready line within ${readyTimeoutMs} ms:\n${output}`)), readyTimeoutMs);
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
    void exited.then((code) => reject(new Error(`${role}: exited (${code}) before it was ready:\n${output}`)));
  });
  return { child, url, exited, output: () => output };
}

/** SIGKILLs every process started here that still runs: for afterAll, when a test failed midway. */
export function killAllJobQlProcesses(): void {
  for (const child of running) child.kill('SIGKILL');
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
