import type { Logger } from 'pino';
import type { TaskErrorValue, TaskProgressValue } from '../domain/task-values.js';
import { codedError, isNonRetryable, NonRetryableError, TaskAbortedError, toError, type JobQlError } from '../errors/index.js';
import type { TaskRecord } from '../store/records.js';
import type { AnyTaskDefinition } from '../tasks/define-task.js';
import type { TaskRegistry } from '../tasks/task-registry.js';
import { validatePayload } from '../tasks/validate-payload.js';
import type { HandlerThreadPool } from './handler-thread-pool.js';
import { resultJson } from './result-json.js';

export interface AttemptExecutorOptions {
  readonly registry: TaskRegistry;
  readonly workerId: string;
  /** How long a handler whose signal fired may take to stop before its attempt ends without it. */
  readonly abortGraceMs: number;
  /** The largest result, in bytes of JSON, a task may keep. */
  readonly resultMaxBytes: number;
  /** Isolated handlers run in threads of this pool. */
  readonly threads: HandlerThreadPool;
  /** The results of the tasks this one depends on, by their keys. */
  readonly dependencyResults: (taskId: string) => Promise<Record<string, unknown>>;
}

/** An attempt's logger, bound to its job, task, attempt and worker, made at its first use. */
export type AttemptLog = () => Logger;

/** What one running attempt gives its handler besides the task: how to stop, log and report. */
export interface AttemptControls {
  /** Aborted by a cancel, a lost lease, a shutdown, or here at the task's timeout. */
  readonly controller: AbortController;
  readonly log: AttemptLog;
  readonly report: (value: TaskProgressValue) => Promise<void>;
}

/**
 * Runs one attempt's handler: checks the payload against its task type's schema again, reads the
 * dependencies' results, calls the handler in this thread or in a handler thread (an isolated
 * type), aborts it at the task's timeout, gives it `abortGraceMs` to stop once its signal fired,
 * and checks its result against RESULT_MAX_BYTES. Writes nothing: the worker's completer does.
 */
export class AttemptExecutor {
  constructor(private readonly options: AttemptExecutorOptions) {}

  /** Resolves with the result as the JSON the store keeps; rejects with why the attempt failed. */
  async execute(task: TaskRecord, controls: AttemptControls): Promise<string> {
    const { controller } = controls;
    const signal = controller.signal;
    const definition = this.options.registry.get(task.type);
    if (!definition) throw codedError('UNKNOWN_TASK_TYPE', `No handler for task type ${task.type} in worker ${this.options.workerId}`);
    const payload = await validatePayload(definition.payload, task.payload, 'payload');
    if (!payload.ok) throw new NonRetryableError(payload.issues.map((i) => `${i.path}: ${i.message}`).join('; '), 'INVALID_PAYLOAD');
    const timeoutMs = task.timeoutMs ?? definition.timeoutMs;
    const timer = timeoutMs
      ? setTimeout(() => {
          if (!signal.aborted) controller.abort(new TaskAbortedError('TIMEOUT', `Attempt timed out after ${timeoutMs} ms`));
        }, timeoutMs)
      : undefined;
    try {
      const dependencies = task.dependencyCount > 0 ? await this.options.dependencyResults(task.id) : {};
      const handler = this.start(definition, { task, payload: payload.value, dependencies }, controls);
      const result = await settleWithinGrace(handler.done, signal, this.options.abortGraceMs, () => handler.abandon());
      // A handler that returned after its signal fired did not beat the deadline or the cancel.
      if (signal.aborted) throw signal.reason;
      return this.resultThatFits(result);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /** Calls the handler in this thread, or in a handler thread for an isolated task type. */
  private start(
    definition: AnyTaskDefinition,
    { task, payload, dependencies }: { readonly task: TaskRecord; readonly payload: unknown; readonly dependencies: Readonly<Record<string, unknown>> },
    { controller, log, report }: AttemptControls,
  ): { readonly done: Promise<unknown>; abandon(): void } {
    const signal = controller.signal;
    const graceMs = this.options.abortGraceMs;
    if (definition.isolation) {
      const run = this.options.threads.run(
        {
          module: definition.isolation.module,
          taskType: task.type,
          taskId: task.id,
          jobId: task.jobId,
          tenant: task.tenantId,
          attempt: task.attempt,
          payload: task.payload,
          dependencies,
        },
        { log: log(), progress: (current, total, message) => report({ current, total, message }) },
      );
      const forward = (): void => run.abort(signal.reason as TaskAbortedError);
      if (signal.aborted) forward();
      else signal.addEventListener('abort', forward, { once: true });
      return {
        done: run.done,
        abandon: () => {
          log().warn({ graceMs }, 'the handler did not stop after its signal fired: its thread is terminated');
          void run.terminate();
        },
      };
    }
    const done = (async () =>
      definition.handler({
        taskId: task.id,
        jobId: task.jobId,
        tenant: task.tenantId,
        payload,
        attempt: task.attempt,
        dependencies,
        signal,
        get log() {
          return log();
        },
        progress: (current, total, message) => report({ current, total: total ?? null, message: message ?? null }),
      }))();
    return {
      done,
      abandon: () =>
        log().error(
          { graceMs },
          'the handler did not stop after its signal fired and runs on, detached: give its task type `isolation` so that it can be stopped',
        ),
    };
  }

  /**
   * The result as the JSON the store keeps. One past RESULT_MAX_BYTES would bloat every read of its
   * task: the task fails instead.
   */
  private resultThatFits(result: unknown): string {
    const limit = this.options.resultMaxBytes;
    const json = resultJson(result);
    // A string of n UTF-16 units is at most 3n bytes of UTF-8: most results need no count.
    const bytes = json.length * 3 <= limit ? json.length : Buffer.byteLength(json);
    if (bytes > limit) {
      throw new NonRetryableError(`The result is ${bytes} bytes of JSON, more than RESULT_MAX_BYTES (${limit})`, 'RESULT_TOO_LARGE');
    }
    return json;
  }
}

/** What an attempt that did not succeed leaves to write. */
export type AttemptFailureKind =
  /** Nothing: a cancelled task is already CANCELLED in the store, and a lost lease belongs to another attempt. */
  | { readonly kind: 'aborted'; readonly code: 'CANCELLED' | 'LEASE_LOST' }
  /** Given back unfinished: the worker is shutting down. */
  | { readonly kind: 'handed back'; readonly error: TaskErrorValue }
  | { readonly kind: 'failed'; readonly error: TaskErrorValue; readonly cause: Error; readonly final: boolean };

/** Why an attempt ended without success: what its handler threw, or its signal's reason if that fired first. */
export function classifyFailure(thrown: unknown, signal: AbortSignal): AttemptFailureKind {
  const error = toError(signal.aborted ? signal.reason : thrown);
  if (error instanceof TaskAbortedError && (error.code === 'CANCELLED' || error.code === 'LEASE_LOST')) {
    return { kind: 'aborted', code: error.code };
  }
  const value: TaskErrorValue = { message: error.message, code: errorCode(error) };
  if (error instanceof TaskAbortedError && error.code === 'SHUTDOWN') return { kind: 'handed back', error: value };
  return { kind: 'failed', error: value, cause: error, final: isNonRetryable(error) };
}

/**
 * The handler's outcome; or, once `signal` has fired and the handler has not settled within
 * `graceMs`, `abandon()` and a rejection with the signal's reason: the attempt ends and its slot is
 * free whatever the handler does.
 */
function settleWithinGrace(done: Promise<unknown>, signal: AbortSignal, graceMs: number, abandon: () => void): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const startGrace = (): void => {
      timer = setTimeout(() => {
        abandon();
        reject(signal.reason);
      }, graceMs);
    };
    if (signal.aborted) startGrace();
    else signal.addEventListener('abort', startGrace, { once: true });
    done.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      signal.removeEventListener('abort', startGrace);
    });
  });
}

function errorCode(error: Error): string {
  const code = (error as Partial<JobQlError>).code;
  return typeof code === 'string' && code.length > 0 ? code : 'HANDLER_ERROR';
}
