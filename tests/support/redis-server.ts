import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { findFreePort } from '../../src/embedded/host.js';

/**
 * A `redis-server` of the test's own, for tests that stop, restart or flush a server: the
 * machine's Redis on 6379 is shared with tests running in parallel and must never be touched so.
 * In memory only (`--save ''`, no AOF), so a restart comes back empty, as a crashed server would.
 */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Whether the server process runs now. */
  readonly running: boolean;
  /** Kills the server (SIGKILL, as a crash would) and waits until the process is gone. */
  stop(): Promise<void>;
  /** Starts it again, empty, on the same port, and waits until it answers PING. */
  start(): Promise<void>;
  /** `stop()` then `start()`; `downMs` keeps it down that long in between. */
  restart(options?: { downMs?: number }): Promise<void>;
}

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 10_000;
const PORT_ATTEMPTS = 5;
/** Every server still running, killed if the test process exits without stopping them. */
const running = new Set<ChildProcess>();

process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts `redis-server` on a free port and resolves once it answers PING. */
export async function startRedisServer(): Promise<RedisServer> {
  let child: ChildProcess | undefined;
  let port = 0;
  // A free port may be taken by someone else before the server binds it: try another one.
  for (let attempt = 1; child === undefined; attempt++) {
    port = await findFreePort(HOST);
    try {
      child = await spawnServer(port);
    } catch (error) {
      if (attempt >= PORT_ATTEMPTS) throw error;
    }
  }

  let current: ChildProcess | undefined = child;
  const server: RedisServer = {
    port,
    url: `redis://${HOST}:${port}`,
    get running() {
      return current !== undefined;
    },
    async stop() {
      if (current === undefined) return;
      const stopping = current;
      current = undefined;
      await kill(stopping);
    },
    async start() {
      if (current !== undefined) return;
      current = await spawnServer(port);
    },
    async restart(options = {}) {
      await server.stop();
      if (options.downMs !== undefined) await new Promise((resolve) => setTimeout(resolve, options.downMs));
      await server.start();
    },
  };
  return server;
}

async function spawnServer(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', tmpdir(), '--daemonize', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  running.add(child);
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4_000); // enough to say why it did not start
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new Error(`redis-server could not be spawned: ${error.message}`)));
    child.once('exit', (code, signal) =>
      reject(new Error(`redis-server on port ${port} exited (${signal ?? code}) before answering PING:\n${output}`)),
    );
  });
  exited.catch(() => {}); // only raced below; a later exit is the test's own doing
  child.once('exit', () => running.delete(child));
  try {
    await Promise.race([waitForPong(port), exited]);
  } catch (error) {
    await kill(child);
    throw error;
  }
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  // No pid: it never started, and no 'exit' will come.
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await gone;
}

async function waitForPong(port: number): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (await answersPing(port)) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within ${START_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * One raw PING over a fresh socket: true on +PONG, false on any error or silence. Settles once
 * the socket is closed, so it leaves nothing behind for tests that count open handles.
 */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    let reply = '';
    let answered = false;
    socket.once('close', () => resolve(answered));
    const done = (pong: boolean): void => {
      answered = pong;
      socket.destroy();
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
