import type { ProcessMetrics } from '../metrics/process-metrics.js';
import { startAttemptSpan } from '../telemetry/traces.js';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { EventBus } from '../../adapters/event-bus.js';
import type { Consumer, Delivery, HandleOutcome, QueueAdapter } from '../../adapters/queue-adapter.js';
import type { AttemptRef } from '../domain/attempt-ref.js';
import { TaskAbortedError, toError } from '../errors/index.js';
import type { Db } from '../store/database.js';
import { dependencyResults } from '../store/dependants.js';
import type { TaskRecord } from '../store/records.js';
import type { RetentionPolicy } from '../store/retention.js';
import type { TaskRegistry } from '../tasks/task-registry.js';
import type { ClaimedAttempt } from './attempt-claim-companion.js';
import { AttemptCompleter } from './attempt-completer.js';
import { AttemptExecutor, classifyFailure, type AttemptLog } from './attempt-executor.js';
import type { Loop } from './every.js';
import { HandlerThreadPool } from './handler-thread-pool.js';
import { startLeaseKeeper, type LeaseKeeper } from './lease-keeper.js';
import { startMaintenanceLoop } from './maintenance-loop.js';
import { startRecoveryLoops, type RecoveryLoops } from './recovery-loops.js';
import { planConsumers, type WorkerQueue } from './worker-queues.js';
import { packageVersion } from './package-version.js';
import { WorkerPresence } from './worker-presence.js';
import type { TaskProgressValue } from '../domain/task-values.js';

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
  /** Where it counts its attempts and shows its slots. */
  readonly metrics?: ProcessMetrics | undefined;
  /** How often it heartbeats its row in the store and learns which queues are paused. */
  readonly presenceIntervalMs?: number | undefined;
}

/** Within this, a pause stops even the deliveries a worker already holds from being claimed (the claim itself checks at once). */
const PRESENCE_INTERVAL_MS = 500;

interface RunningAttempt {
  readonly ref: AttemptRef;
  readonly controller: AbortController;
}

function newWorkerId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/**
 * A worker's life: takes deliveries from the adapter, has each attempt claimed, run and written
 * (`AttemptCompleter` claims and writes, `AttemptExecutor` runs the handler), and aborts the
 * attempts it runs when they are cancelled, lose their lease or outlive a stop's grace. A
 * lease-keeper thread keeps the leases of its running attempts alive, and recovery loops re-queue
 * what dead workers left behind.
 */
export class Worker {
  readonly workerId: string;
  private readonly running = new Map<string, RunningAttempt>();
  private consumers: Consumer[] = [];
  private leases: LeaseKeeper | undefined;
  private recovery: RecoveryLoops | undefined;
  private maintenance: Loop | undefined;
  private presence: WorkerPresence | undefined;
  private unsubscribeCancel: (() => void) | undefined;
  private readonly threads: HandlerThreadPool;
  private readonly executor: AttemptExecutor;
  private readonly completer: AttemptCompleter;
  /** Successful outcomes not yet written; their slots already run the next deliveries. */
  private readonly completing = new Set<Promise<void>>();
  private readonly slots: number;

  constructor(private readonly options: WorkerOptions) {
    this.workerId = options.workerId ?? newWorkerId();
    this.slots = options.queues.reduce((sum, queue) => sum + (queue.concurrency ?? 0), options.concurrency);
    this.threads = new HandlerThreadPool({ maxIdle: this.slots, logLevel: options.logger.level });
    this.executor = new AttemptExecutor({
      registry: options.registry,
      workerId: this.workerId,
      abortGraceMs: options.abortGraceMs,
      resultMaxBytes: options.resultMaxBytes,
      threads: this.threads,
      dependencyResults: (taskId) => dependencyResults(options.db, taskId),
    });
    this.completer = new AttemptCompleter({
      db: options.db,
      bus: options.bus,
      workerId: this.workerId,
      leaseMs: options.leaseMs,
      logger: options.logger,
      enqueue: (deliveries) => this.enqueue(deliveries),
    });
  }

  /** Whether it takes deliveries: from the end of `start` until `stop`. */
  get consuming(): boolean {
    return this.consumers.length > 0;
  }

  async start(): Promise<void> {
    const { adapter, bus } = this.options;
    this.options.metrics?.reportSlots(() => ({ busy: this.running.size, total: this.slots }));
    const queueNames = this.options.queues.map((queue) => queue.name);
    const plans = planConsumers(this.options.queues, this.options.concurrency);
    this.presence = new WorkerPresence({
      db: this.options.db,
      logger: this.options.logger,
      registration: {
        id: this.workerId,
        host: hostname(),
        pid: process.pid,
        version: packageVersion(),
        queues: plans.flatMap((plan) => plan.queues.map((name) => ({ name, slots: plan.concurrency }))),
        slots: this.slots,
        leaseMs: this.options.leaseMs,
      },
      running: () => this.running.size,
      intervalMs: this.options.presenceIntervalMs ?? PRESENCE_INTERVAL_MS,
      onResumed: (queues) => this.recovery?.reconcile(queues),
    });
    await this.presence.start();
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
    const companion = this.completer.companion();
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
    await this.presence?.stop();
    this.presence = undefined;
  }

  /**
   * `claimed`: the attempt the adapter's claim already claimed; otherwise it is claimed here, in a
   * batch. A task a rate limit held back has its delivery postponed to when it is due again.
   */
  private async handle(delivery: Delivery, claimed?: ClaimedAttempt): Promise<HandleOutcome> {
    // Its task waits in the store, and is enqueued again when the queue is resumed.
    if (!claimed && this.presence?.isPaused(delivery.queue)) return;
    const attempt = claimed ?? (await this.completer.claim(delivery));
    if (attempt.heldUntil) {
      this.options.metrics?.rateLimitHolds.inc({ queue: delivery.queue });
      return { postponeUntil: attempt.heldUntil };
    }
    if (!attempt.task) return; // a duplicate or stale delivery: someone else has it, or it is done
    await this.run(attempt.task);
  }

  private async run(task: TaskRecord): Promise<void> {
    const ref: AttemptRef = { taskId: task.id, attempt: task.attempt };
    const ended = this.countStart(task);
    // Made at its first use: most attempts log nothing.
    let logger: Logger | undefined;
    const log: AttemptLog = () =>
      (logger ??= this.options.logger.child({ jobId: task.jobId, taskId: task.id, attempt: task.attempt, workerId: this.workerId }));
    const controller = new AbortController();
    this.running.set(task.id, { ref, controller });
    this.leases?.hold(ref);
    const progress = this.completer.progress(ref);
    const span = startAttemptSpan(task.traceParent, {
      'jobql.job.id': task.jobId,
      'jobql.task.id': task.id,
      'jobql.task.type': task.type,
      'jobql.queue': task.queue,
      'jobql.attempt': task.attempt,
    });
    let completion: Promise<void> | undefined;
    try {
      // Progress is best effort: a failed write is logged, never thrown into the handler.
      const report = (value: TaskProgressValue): Promise<void> =>
        progress.report(value).catch((error: unknown) => log().warn({ err: toError(error) }, 'progress write failed'));
      let json: string;
      let finishedAt: Date;
      try {
        json = await span.handler(() => this.executor.execute(task, { controller, log, report }));
        finishedAt = new Date();
      } catch (thrown) {
        const failure = classifyFailure(thrown, controller.signal);
        ended(failure.kind === 'handed back' ? 'handed_back' : failure.kind);
        span.end(thrown);
        await progress.flush().catch(() => {});
        await this.recordFailure(failure, task, log);
        return;
      }
      ended('succeeded');
      span.end();
      await progress.flush().catch(() => {});
      completion = this.writeCompletion(task, json, finishedAt, log);
    } finally {
      this.running.delete(task.id);
      if (completion === undefined) this.leases?.release(ref);
      // Its key has room once this attempt's end is written: wake the next of its parked tasks then.
      if (task.concurrencyKey !== null) void Promise.resolve(completion).finally(() => this.recovery?.wakeParked());
    }
    // The slot is free once the handler is done: its next delivery is claimed while this outcome
    // is written, unless more outcomes than there are slots are still unwritten.
    if (this.completing.size > this.slots) await completion;
  }

  /** Queues a successful outcome; the lease is held until it is written. */
  private writeCompletion(task: TaskRecord, resultJson: string, finishedAt: Date, log: AttemptLog): Promise<void> {
    const ref: AttemptRef = { taskId: task.id, attempt: task.attempt };
    const written: Promise<void> = this.completer
      .complete({ ...ref, resultJson, finishedAt, hasDependants: task.dependantCount > 0 })
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

  private async recordFailure(failure: ReturnType<typeof classifyFailure>, task: TaskRecord, log: AttemptLog): Promise<void> {
    switch (failure.kind) {
      case 'aborted':
        log().info({ code: failure.code }, 'attempt aborted');
        return;
      case 'handed back':
        log().info('attempt handed back: the worker is shutting down');
        return this.completer.fail(task, failure.error, { handBack: true });
      case 'failed':
        log().warn({ err: failure.cause }, 'attempt failed');
        return this.completer.fail(task, failure.error, { final: failure.final });
    }
  }

  /** Counts an attempt's start (and how long its task waited since due) in the metrics and the queue's tally; the function returned counts its end. */
  private countStart(task: TaskRecord): (outcome: 'succeeded' | 'failed' | 'aborted' | 'handed_back') => void {
    const tally = this.presence?.tally;
    tally?.count(task.queue, 'started');
    const counted = (outcome: 'succeeded' | 'failed' | 'aborted' | 'handed_back'): void => {
      tally?.count(task.queue, 'finished');
      if (outcome === 'failed') tally?.count(task.queue, 'failed');
    };
    const metrics = this.options.metrics;
    if (!metrics) return counted;
    const labels = { queue: task.queue, type: task.type };
    metrics.attemptsStarted.inc(labels);
    const startedAt = task.startedAt ?? new Date();
    metrics.pickupLatency.observe({ queue: task.queue }, Math.max(0, startedAt.getTime() - task.runAt.getTime()) / 1000);
    const started = performance.now();
    return (outcome) => {
      counted(outcome);
      metrics.attemptsEnded.inc({ ...labels, outcome });
      metrics.attemptDuration.observe({ ...labels, outcome }, (performance.now() - started) / 1000);
    };
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
