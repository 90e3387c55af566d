import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Consumer, Delivery, QueueAdapter } from '../../adapters/queue-adapter.js';
import { publishWritten, type EventBus } from '../../adapters/event-bus.js';
import { codedError, isNonRetryable, NonRetryableError, TaskAbortedError, toError, type JobQlError } from '../errors/index.js';
import type { Db } from '../store/database.js';
import { claimAttempts } from '../store/claim-attempts.js';
import { completeAttempts, type CompletionItem } from '../store/complete-attempts.js';
import { failAttempts } from '../store/fail-attempts.js';
import { writtenEvents } from '../store/job-bookkeeping.js';
import { recordProgress } from '../store/record-progress.js';
import { failureOutcome } from '../domain/attempt-failure.js';
import type { TaskRecord } from '../store/records.js';
import type { RetentionPolicy } from '../store/retention.js';
import { dependencyResults } from '../store/dependants.js';
import type { AnyTaskDefinition } from '../tasks/define-task.js';
import type { TaskRegistry } from '../tasks/task-registry.js';
import { validatePayload } from '../tasks/validate-payload.js';
import { retryTransient } from '../store/transient-errors.js';
import { HandlerThreadPool } from './handler-thread-pool.js';
import { WriteBatcher } from './write-batcher.js';
import { startLeaseKeeper, type LeaseKeeper } from './lease-keeper.js';
import { ProgressWriter } from './progress-writer.js';
import { deliveriesOf } from '../store/deliveries.js';
import { attemptClaimCompanion, type ClaimedAttempt } from './attempt-claim-companion.js';
import { resultJson } from './result-json.js';
import type { Loop } from './every.js';
import { startMaintenanceLoop } from './maintenance-loop.js';
import { startRecoveryLoops, type RecoveryLoops } from './recovery-loops.js';
import { planConsumers, type WorkerQueue } from './worker-queues.js';
import type { TaskErrorValue, TaskProgressValue } from '../domain/task-values.js';
import type { AttemptRef } from '../domain/attempt-ref.js';

export interface WorkerOptions {
  readonly db: Db;
  /** For the lease keeper's own connection; `schema` as the store's. */
  readonly connectionString: string;
  readonly schema?: string | undefined;
  readonly adapter: QueueAdapter;
  readonly bus: EventBus;
  readonly registry: TaskRegistry;
  readonly logger: Logger;
  readonly queues: readonly WorkerQueue[];
  /** The slots shared by the queues that have none of their own. */
  readonly concurrency: number;
  /** How long a claim lasts without renewal before the reaper hands the task to someone else. */
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  readonly reaperIntervalMs: number;
  readonly reconcileIntervalMs: number;
  /** On stop, how long running attempts may take to finish before they are handed back. */
  readonly shutdownGraceMs: number;
  /** How long a handler whose signal fired may take to stop before its attempt ends without it. */
  readonly abortGraceMs: number;
  /** The largest result, in bytes of JSON, a task may keep. */
  readonly resultMaxBytes: number;
  /** How often the maintenance loop (retention) runs, and what it keeps. */
  readonly maintenanceIntervalMs: number;
  readonly retention: RetentionPolicy;
  readonly workerId?: string;
}

interface RunningAttempt {
  readonly ref: AttemptRef;
  readonly controller: AbortController;
}

/** The most claims (or completions) one statement writes. */
const MAX_BATCH = 100;

/** An attempt's logger, bound to its job, task, attempt and worker. */
type TaskLog = () => Logger;

export function newWorkerId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/**
 * Takes deliveries from the adapter, claims each attempt in the store (fenced), runs its handler
 * and writes the outcome. A lease-keeper thread keeps the leases of its running attempts alive,
 * and recovery loops re-queue what dead workers left behind.
 */
export class Worker {
  readonly workerId: string;
  private readonly running = new Map<string, RunningAttempt>();
  private consumers: Consumer[] = [];
  private leases: LeaseKeeper | undefined;
  private recovery: RecoveryLoops | undefined;
  private maintenance: Loop | undefined;
  private unsubscribeCancel: (() => void) | undefined;
  private readonly threads: HandlerThreadPool;
  /** Claims and completions that come due together are written together (see attempt-batches.ts). */
  private readonly claims: WriteBatcher<Delivery, TaskRecord | undefined>;
  private readonly completions: WriteBatcher<CompletionItem, void>;
  /** Successful outcomes not yet written; their slots already run the next deliveries. */
  private readonly completing = new Set<Promise<void>>();
  private readonly slots: number;

  constructor(private readonly options: WorkerOptions) {
    this.workerId = options.workerId ?? newWorkerId();
    this.slots = options.queues.reduce((sum, queue) => sum + (queue.concurrency ?? 0), options.concurrency);
    this.threads = new HandlerThreadPool({ maxIdle: this.slots, logLevel: options.logger.level });
    this.claims = new WriteBatcher((deliveries) => this.claimBatch(deliveries), { maxBatch: MAX_BATCH, maxInFlight: 1 });
    this.completions = new WriteBatcher((items) => this.completeBatch(items), { maxBatch: MAX_BATCH, maxInFlight: 1 });
  }

  async start(): Promise<void> {
    const { adapter, bus } = this.options;
    const queueNames = this.options.queues.map((queue) => queue.name);
    this.unsubscribeCancel = bus.onCancelRequested((taskId) => this.abortRunning(taskId, 'CANCELLED'));
    this.leases = await startLeaseKeeper({
      connectionString: this.options.connectionString,
      ...(this.options.schema ? { schema: this.options.schema } : {}),
      workerId: this.workerId,
      leaseMs: this.options.leaseMs,
      heartbeatMs: this.options.heartbeatMs,
      onLost: (ref) => {
        if (this.running.get(ref.taskId)?.ref.attempt !== ref.attempt) return; // finished meanwhile
        this.abortRunning(ref.taskId, 'LEASE_LOST', 'This worker lost its lease on the task');
      },
      onError: (error) => this.options.logger.warn({ err: error, workerId: this.workerId }, 'lease renewal failed; will retry'),
    });
    this.recovery = await startRecoveryLoops({
      ...this.options,
      queues: queueNames,
      enqueue: (d) => this.enqueue(d),
      onDeliveriesLost: (listener) => adapter.onDeliveriesLost(listener),
    });
    this.maintenance = startMaintenanceLoop({
      db: this.options.db,
      logger: this.options.logger,
      intervalMs: this.options.maintenanceIntervalMs,
      retention: this.options.retention,
    });
    const plans = planConsumers(this.options.queues, this.options.concurrency);
    const companion = attemptClaimCompanion(
      { workerId: this.workerId, leaseMs: this.options.leaseMs, notify: bus.statementNotify },
      (batch) => publishWritten(bus, batch),
    );
    for (const plan of plans) {
      this.consumers.push(adapter.consume({ ...plan, handle: (delivery, claimed) => this.handle(delivery, claimed), companion }));
    }
    this.options.logger.info({ workerId: this.workerId, consumers: plans }, 'worker started');
  }

  /**
   * Stops taking deliveries and lets running attempts finish for up to `shutdownGraceMs`; those
   * still running then are aborted (their signal fires with SHUTDOWN) and handed back to the
   * queue without using up an attempt. Resolves once every attempt has settled in the store.
   */
  async stop(): Promise<void> {
    const consumers = this.consumers;
    this.consumers = [];
    await Promise.all([this.recovery?.stop(), this.maintenance?.stop()]);
    this.recovery = undefined;
    this.maintenance = undefined;
    if (consumers.length > 0) {
      const graceTimer = setTimeout(() => {
        if (this.running.size === 0) return;
        this.options.logger.warn({ workerId: this.workerId, tasks: this.running.size }, 'grace period over: handing running tasks back');
        for (const taskId of [...this.running.keys()]) {
          this.abortRunning(taskId, 'SHUTDOWN', 'The worker is shutting down; the task goes back to its queue');
        }
      }, this.options.shutdownGraceMs);
      try {
        await Promise.all(consumers.map((consumer) => consumer.stop()));
      } finally {
        clearTimeout(graceTimer);
      }
    }
    await Promise.all(this.completing);
    this.unsubscribeCancel?.();
    await this.threads.close();
    await this.leases?.close();
    this.leases = undefined;
  }

  /** `claimed`: the attempt the adapter's claim already claimed; otherwise it is claimed here, in a lot. */
  private async handle(delivery: Delivery, claimed?: ClaimedAttempt): Promise<void> {
    const task = claimed ? claimed.task : await this.claims.add(delivery);
    if (!task) return; // a duplicate or stale delivery: someone else has it, or it is done
    await this.run(task);
  }

  /** One batch of claims; a task comes back once, to the first of its deliveries in the batch. */
  private async claimBatch(deliveries: readonly Delivery[]): Promise<(TaskRecord | undefined)[]> {
    const { db, bus, leaseMs } = this.options;
    const batch = await this.storeWrite(() => claimAttempts(db, deliveries, { workerId: this.workerId, leaseMs, notify: bus.statementNotify }));
    publishWritten(bus, batch);
    const given = new Set<string>();
    return deliveries.map((delivery) => {
      const task = batch.tasks.get(delivery.taskId);
      if (!task || task.attempt !== delivery.attempt || given.has(task.id)) return undefined;
      given.add(task.id);
      return task;
    });
  }

  /** One batch of completions; one whose attempt is no longer running is fenced out and changes nothing. */
  private async completeBatch(items: readonly CompletionItem[]): Promise<void[]> {
    const batch = await this.storeWrite(() => completeAttempts(this.options.db, items, this.options.bus.statementNotify));
    publishWritten(this.options.bus, batch);
    await this.enqueue(deliveriesOf(batch.released));
    return items.map(() => undefined);
  }

  private async run(task: TaskRecord): Promise<void> {
    const ref: AttemptRef = { taskId: task.id, attempt: task.attempt };
    // Made at its first use: most attempts log nothing, and a pino child's bindings were about
    // 2 KB of the 55 a no-op task allocated at concurrency 50 (heap sampling).
    let logger: Logger | undefined;
    const log: TaskLog = () =>
      (logger ??= this.options.logger.child({ jobId: task.jobId, taskId: task.id, attempt: task.attempt, workerId: this.workerId }));
    const controller = new AbortController();
    this.running.set(task.id, { ref, controller });
    this.leases?.hold(ref);
    const progress = new ProgressWriter<TaskProgressValue>(async (value) => {
      const notify = this.options.bus.statementNotify;
      const events = await recordProgress(this.options.db, { ...ref, progress: value }, notify);
      publishWritten(this.options.bus, writtenEvents(notify, events));
    });
    let completion: Promise<void> | undefined;
    try {
      // Progress is best effort: a failed write is logged, never thrown into the handler.
      const report = (value: TaskProgressValue): Promise<void> =>
        progress.report(value).catch((error: unknown) => log().warn({ err: toError(error) }, 'progress write failed'));
      let json: string;
      try {
        json = this.resultThatFits(await this.execute(task, controller.signal, log, report));
      } catch (thrown) {
        await progress.flush().catch(() => {});
        await this.recordFailure(task, ref, thrown, controller.signal, log);
        return;
      }
      await progress.flush().catch(() => {});
      completion = this.writeCompletion({ ...ref, resultJson: json, hasDependants: task.dependantCount > 0 }, log);
    } finally {
      this.running.delete(task.id);
      if (completion === undefined) this.leases?.release(ref);
    }
    // The slot is free once the handler is done: its next delivery is claimed while this outcome
    // is written, unless more outcomes than there are slots are still unwritten.
    if (this.completing.size > this.slots) await completion;
  }

  /** Queues a successful outcome; the lease is held until it is written. */
  private writeCompletion(item: CompletionItem, log: TaskLog): Promise<void> {
    const ref: AttemptRef = { taskId: item.taskId, attempt: item.attempt };
    const written: Promise<void> = this.completions
      .add(item)
      .catch((error: unknown) => {
        // The handler succeeded: a write that did not land is no failure of its attempt. The lease
        // is no longer renewed, so the reaper ends the attempt and the task runs again.
        log().error({ err: toError(error) }, 'the completion could not be written; the attempt ends when its lease runs out');
      })
      .finally(() => {
        this.leases?.release(ref);
        this.completing.delete(written);
      });
    this.completing.add(written);
    return written;
  }

  private async execute(
    task: TaskRecord,
    signal: AbortSignal,
    log: TaskLog,
    report: (value: TaskProgressValue) => Promise<void>,
  ): Promise<unknown> {
    const definition = this.options.registry.get(task.type);
    if (!definition) throw codedError('UNKNOWN_TASK_TYPE', `No handler for task type ${task.type} in worker ${this.workerId}`);
    const payload = await validatePayload(definition.payload, task.payload, 'payload');
    if (!payload.ok) throw new NonRetryableError(payload.issues.map((i) => `${i.path}: ${i.message}`).join('; '), 'INVALID_PAYLOAD');
    const timeoutMs = task.timeoutMs ?? definition.timeoutMs;
    const timer = timeoutMs
      ? setTimeout(() => this.abortRunning(task.id, 'TIMEOUT', `Attempt timed out after ${timeoutMs} ms`), timeoutMs)
      : undefined;
    try {
      const dependencies = task.dependencyCount > 0 ? await dependencyResults(this.options.db, task.id) : {};
      const handler = this.startHandler(definition, { task, payload: payload.value, dependencies }, signal, log, report);
      const result = await settleWithinGrace(handler.done, signal, this.options.abortGraceMs, () => handler.abandon());
      // A handler that returned after its signal fired did not beat the deadline or the cancel.
      if (signal.aborted) throw signal.reason;
      return result;
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /** Calls the handler in this thread, or in a handler thread for an isolated task type. */
  private startHandler(
    definition: AnyTaskDefinition,
    { task, payload, dependencies }: { readonly task: TaskRecord; readonly payload: unknown; readonly dependencies: Readonly<Record<string, unknown>> },
    signal: AbortSignal,
    log: TaskLog,
    report: (value: TaskProgressValue) => Promise<void>,
  ): { readonly done: Promise<unknown>; abandon(): void } {
    if (definition.isolation) {
      const run = this.threads.run(
        {
          module: definition.isolation.module,
          taskType: task.type,
          taskId: task.id,
          jobId: task.jobId,
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
          log().warn({ graceMs: this.options.abortGraceMs }, 'the handler did not stop after its signal fired: its thread is terminated');
          void run.terminate();
        },
      };
    }
    const done = (async () =>
      definition.handler({
        taskId: task.id,
        jobId: task.jobId,
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
          { graceMs: this.options.abortGraceMs },
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

  private async recordFailure(task: TaskRecord, ref: AttemptRef, thrown: unknown, signal: AbortSignal, log: TaskLog): Promise<void> {
    const reason: unknown = signal.aborted ? signal.reason : thrown;
    const error = toError(reason);
    // A cancelled task is already CANCELLED in the store, and a lost lease belongs to another attempt.
    if (error instanceof TaskAbortedError && (error.code === 'CANCELLED' || error.code === 'LEASE_LOST')) {
      log().info({ code: error.code }, 'attempt aborted');
      return;
    }
    const value: TaskErrorValue = { message: error.message, code: errorCode(error) };
    const handBack = error instanceof TaskAbortedError && error.code === 'SHUTDOWN';
    if (handBack) log().info('attempt handed back: the worker is shutting down');
    else log().warn({ err: error }, 'attempt failed');
    const outcome = failureOutcome(task, { final: isNonRetryable(error), handBack }, new Date());
    const { bus, db } = this.options;
    const ended = await this.storeWrite(() => failAttempts(db, [{ ...ref, error: value, outcome }], bus.statementNotify));
    publishWritten(bus, ended);
    await this.enqueue(deliveriesOf(ended.tasks.values()));
  }

  /**
   * A fenced attempt write, run again while the database is briefly away (a restart, a
   * terminated connection), for up to one lease: past that the reaper owns the task anyway.
   */
  private storeWrite<T>(write: () => Promise<T>): Promise<T> {
    return retryTransient(write, {
      budgetMs: this.options.leaseMs,
      onRetry: (error) => this.options.logger.warn({ err: toError(error), workerId: this.workerId }, 'store write failed; retrying'),
    });
  }

  private async enqueue(deliveries: readonly Delivery[]): Promise<void> {
    if (deliveries.length > 0) await this.options.adapter.enqueue({ deliveries });
  }

  private abortRunning(taskId: string, cause: TaskAbortedError['code'], message?: string): void {
    const attempt = this.running.get(taskId);
    if (!attempt || attempt.controller.signal.aborted) return;
    attempt.controller.abort(new TaskAbortedError(cause, message ?? `Attempt aborted: ${cause.toLowerCase()}`));
  }
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
