import { Worker } from 'node:worker_threads';
import { toError } from '../errors/index.js';
import { attemptKey, type FromLeaseKeeperThread, type LeaseKeeperThreadData, type ToLeaseKeeperThread } from './lease-keeper-protocol.js';
import { deserializeError } from './serialized-error.js';
import { threadEntry } from './thread-entry.js';
import type { AttemptRef } from '../domain/attempt-ref.js';

export interface LeaseKeeperOptions {
  readonly connectionString: string;
  /** A schema to put first on the search path, as for `createDatabase`. */
  readonly schema?: string;
  readonly workerId: string;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  /**
   * A held attempt whose lease could not be renewed: its task no longer runs that attempt on this
   * worker (reaped, finished, cancelled). It is released before this is called. An attempt that
   * finished here just before its release reached the thread can be reported too: ignore refs you
   * no longer run.
   */
  readonly onLost: (ref: AttemptRef) => void;
  /** A renewal failed (it is tried again next beat), or the thread died and was restarted. */
  readonly onError: (error: Error) => void;
}

export interface LeaseKeeper {
  /** Renews this attempt's lease every heartbeat until it is released or lost. */
  hold(ref: AttemptRef): void;
  release(ref: AttemptRef): void;
  /** Stops the thread and its connection; held leases are left to expire. */
  close(): Promise<void>;
}

/**
 * Starts a thread that renews the leases of held attempts from a database connection of its own, so
 * that a handler blocking the event loop cannot starve the heartbeat and let its task be re-queued
 * while it still runs. Resolves once the thread is running.
 */
export async function startLeaseKeeper(options: LeaseKeeperOptions): Promise<LeaseKeeper> {
  const keeper = new ThreadLeaseKeeper(options);
  await keeper.start();
  return keeper;
}

/** How long close() waits for the thread to finish its renewal and disconnect before terminating it. */
const CLOSE_GRACE_MS = 5_000;

class ThreadLeaseKeeper implements LeaseKeeper {
  private readonly held = new Map<string, AttemptRef>();
  private thread: Worker | undefined;
  private startedAt = 0;
  private started = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private closed: Promise<void> | undefined;

  constructor(private readonly options: LeaseKeeperOptions) {}

  async start(): Promise<void> {
    const { ready } = this.spawn();
    await ready;
    this.started = true;
  }

  hold(ref: AttemptRef): void {
    if (this.closed) throw new Error('The lease keeper is closed');
    const plain: AttemptRef = { taskId: ref.taskId, attempt: ref.attempt };
    this.held.set(attemptKey(plain), plain);
    this.send({ type: 'hold', ref: plain });
  }

  release(ref: AttemptRef): void {
    const plain: AttemptRef = { taskId: ref.taskId, attempt: ref.attempt };
    if (this.held.delete(attemptKey(plain))) this.send({ type: 'release', ref: plain });
  }

  close(): Promise<void> {
    this.closed ??= this.stop();
    return this.closed;
  }

  private send(message: ToLeaseKeeperThread): void {
    // Between a crash and the restart there is no thread: the new one starts from `held`.
    this.thread?.postMessage(message);
  }

  private spawn(): { readonly ready: Promise<void> } {
    const { connectionString, schema, workerId, leaseMs, heartbeatMs } = this.options;
    const workerData: LeaseKeeperThreadData = { connectionString, schema, workerId, leaseMs, heartbeatMs, held: [...this.held.values()] };
    const entry = threadEntry(new URL('./lease-keeper-thread', import.meta.url));
    const thread = new Worker(entry.filename, { ...entry.options, workerData });
    this.thread = thread;
    this.startedAt = Date.now();
    const ready = new Promise<void>((resolve, reject) => {
      let running = false;
      thread.on('message', (message: FromLeaseKeeperThread) => {
        if (message.type === 'ready') {
          running = true;
          resolve();
        } else {
          this.receive(message);
        }
      });
      thread.on('error', (error) => {
        if (running) this.options.onError(error);
        else reject(error);
      });
      thread.on('exit', (code) => {
        if (!running) reject(new Error(`The lease keeper thread exited with code ${code} before it was ready`));
        this.exited(thread, code);
      });
    });
    return { ready };
  }

  private receive(message: Exclude<FromLeaseKeeperThread, { type: 'ready' }>): void {
    switch (message.type) {
      case 'lost':
        for (const ref of message.refs) {
          // Released here since the thread renewed: finished, not lost.
          if (this.held.delete(attemptKey(ref))) this.options.onLost(ref);
        }
        break;
      case 'error':
        this.options.onError(deserializeError(message.error));
        break;
    }
  }

  /**
   * A thread that dies while the keeper is open is restarted, not merely reported: the attempts it
   * held are still running here, and without renewals their leases lapse within `leaseMs` and the
   * reaper hands them to another worker, the very double execution the keeper exists to prevent.
   * The held set lives on this side, so the new thread takes it over whole. Each death is reported
   * through onError; one that dies within a heartbeat of starting is restarted a heartbeat later,
   * so a thread that cannot start reports once a beat instead of spinning.
   */
  private exited(thread: Worker, code: number): void {
    if (thread !== this.thread) return;
    this.thread = undefined;
    // A first start that fails is start()'s rejection, not something to retry.
    if (this.closed || !this.started) return;
    const { heartbeatMs, onError } = this.options;
    const quick = Date.now() - this.startedAt < heartbeatMs;
    onError(new Error(`The lease keeper thread stopped with exit code ${code}; restarting it`));
    this.restartTimer = setTimeout(
      () => {
        this.restartTimer = undefined;
        if (this.closed) return;
        try {
          // A thread that dies again lands in exited() and is reported there.
          this.spawn().ready.catch(() => {});
        } catch (error) {
          onError(toError(error));
        }
      },
      quick ? heartbeatMs : 0,
    );
  }

  private async stop(): Promise<void> {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const thread = this.thread;
    if (!thread) return;
    const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
    thread.postMessage({ type: 'close' } satisfies ToLeaseKeeperThread);
    // A renewal stuck on an unreachable server must not hold close() up for ever.
    const grace = setTimeout(() => void thread.terminate(), CLOSE_GRACE_MS);
    try {
      await exited;
    } finally {
      clearTimeout(grace);
    }
  }
}
