import { Worker } from 'node:worker_threads';
import type { Level, Logger } from 'pino';
import { codedError, TaskAbortedError } from '../errors/index.js';
import type { FromHandlerThread, IsolatedRunRequest, ToHandlerThread } from './handler-thread-protocol.js';
import { deserializeError, serializeError } from './serialized-error.js';
import { threadEntry } from './thread-entry.js';

export interface IsolatedRunHooks {
  progress(current: number, total: number | null, message: string | null): Promise<void>;
  readonly log: Logger;
}

/** One attempt running in a handler thread. */
export interface IsolatedRun {
  /** What the handler returned (as JSON would carry it), or why it failed. */
  readonly done: Promise<unknown>;
  /** Fires the handler's signal in its thread. */
  abort(reason: TaskAbortedError): void;
  /** Stops the thread, whatever the handler is doing; `done` rejects. */
  terminate(): Promise<void>;
}

interface PendingRun {
  readonly runId: number;
  readonly hooks: IsolatedRunHooks;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
}

/** A thread that runs one attempt at a time and may be reused for the next. */
class HandlerThread {
  readonly #worker: Worker;
  #run: PendingRun | undefined;
  #exited = false;

  constructor(logLevel: string, onExit: (thread: HandlerThread) => void) {
    const entry = threadEntry(new URL('./handler-thread', import.meta.url));
    this.#worker = new Worker(entry.filename, { ...entry.options, workerData: { logLevel } });
    // An idle thread must not keep the process alive.
    this.#worker.unref();
    this.#worker.on('message', (message: FromHandlerThread) => this.#receive(message));
    // An error the handler left uncaught ends the thread; `exit` follows.
    this.#worker.on('error', (error) => this.#settle((run) => run.reject(error)));
    this.#worker.on('exit', (code) => {
      this.#exited = true;
      this.#settle((run) => run.reject(codedError('ISOLATED_THREAD_EXITED', `The handler thread exited (code ${code}) before the attempt ended`)));
      onExit(this);
    });
  }

  get usable(): boolean {
    return !this.#exited && this.#run === undefined;
  }

  start(runId: number, request: IsolatedRunRequest, hooks: IsolatedRunHooks): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.#run = { runId, hooks, resolve, reject };
      this.#worker.ref();
      this.#send({ type: 'run', runId, request });
    });
  }

  abort(runId: number, reason: TaskAbortedError): void {
    if (this.#run?.runId === runId) this.#send({ type: 'abort', runId, code: reason.code, message: reason.message });
  }

  async terminate(): Promise<void> {
    if (this.#exited) return;
    await this.#worker.terminate();
  }

  #send(message: ToHandlerThread): void {
    this.#worker.postMessage(message);
  }

  #settle(how: (run: PendingRun) => void): void {
    const run = this.#run;
    this.#run = undefined;
    if (!this.#exited) this.#worker.unref();
    if (run) how(run);
  }

  #receive(message: FromHandlerThread): void {
    const run = this.#run;
    if (!run || message.runId !== run.runId) return;
    switch (message.type) {
      case 'progress':
        run.hooks.progress(message.current, message.total, message.message).then(
          () => this.#send({ type: 'progress-written', runId: run.runId, seq: message.seq }),
          (error: unknown) => this.#send({ type: 'progress-written', runId: run.runId, seq: message.seq, error: serializeError(error) }),
        );
        break;
      case 'log':
        writeLogLine(run.hooks.log, message.line);
        break;
      case 'done':
        if (message.ok) this.#settle((r) => r.resolve(JSON.parse(message.result)));
        else this.#settle((r) => r.reject(deserializeError(message.error)));
        break;
    }
  }
}

/**
 * The threads that run the attempts of isolated task types (`defineTask({ isolation })`). A thread
 * that ended its attempt goes back to the pool (its imported modules stay loaded); one that was
 * terminated is replaced by a new one when next needed. At most `maxIdle` idle threads are kept.
 */
export class HandlerThreadPool {
  readonly #idle: HandlerThread[] = [];
  readonly #all = new Set<HandlerThread>();
  #nextRunId = 1;
  #closed = false;

  constructor(private readonly options: { readonly maxIdle: number; readonly logLevel: string }) {}

  run(request: IsolatedRunRequest, hooks: IsolatedRunHooks): IsolatedRun {
    if (this.#closed) throw new Error('The handler thread pool is closed');
    const thread = this.#take();
    const runId = this.#nextRunId++;
    const done = thread.start(runId, request, hooks);
    void done.then(
      () => this.#giveBack(thread),
      () => this.#giveBack(thread),
    );
    return {
      done,
      abort: (reason) => thread.abort(runId, reason),
      terminate: () => thread.terminate(),
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#idle.length = 0;
    await Promise.all([...this.#all].map((thread) => thread.terminate()));
  }

  #take(): HandlerThread {
    for (let thread = this.#idle.pop(); thread; thread = this.#idle.pop()) {
      if (thread.usable) return thread;
    }
    const thread = new HandlerThread(this.options.logLevel, (exited) => {
      this.#all.delete(exited);
      const at = this.#idle.indexOf(exited);
      if (at >= 0) this.#idle.splice(at, 1);
    });
    this.#all.add(thread);
    return thread;
  }

  #giveBack(thread: HandlerThread): void {
    if (!thread.usable) return;
    if (this.#closed || this.#idle.length >= this.options.maxIdle) void thread.terminate();
    else this.#idle.push(thread);
  }
}

/** Writes one pino line from a thread through the worker's logger, at its level. */
function writeLogLine(log: Logger, line: string): void {
  try {
    const { level, msg, ...fields } = JSON.parse(line) as { level?: number; msg?: string } & Record<string, unknown>;
    const label = (log.levels.labels[level ?? 30] ?? 'info') as Level;
    log[label](fields, msg);
  } catch {
    log.info(line.trim());
  }
}
