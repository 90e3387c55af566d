import type { Logger } from 'pino';
import { publishWritten, type EventBus } from '../../adapters/event-bus.js';
import type { ClaimCompanion, Delivery } from '../../adapters/queue-adapter.js';
import type { AttemptRef } from '../domain/attempt-ref.js';
import { failureOutcome, type AttemptFailure } from '../domain/attempt-failure.js';
import type { TaskErrorValue, TaskProgressValue } from '../domain/task-values.js';
import { toError } from '../errors/index.js';
import { claimAttempts } from '../store/claim-attempts.js';
import { completeAttempts, type CompletionItem } from '../store/complete-attempts.js';
import type { Db } from '../store/database.js';
import { deliveriesOf } from '../store/deliveries.js';
import { failAttempts } from '../store/fail-attempts.js';
import { writtenEvents } from '../store/job-bookkeeping.js';
import { recordProgress } from '../store/record-progress.js';
import type { TaskRecord } from '../store/records.js';
import { retryTransient } from '../store/transient-errors.js';
import { attemptClaimCompanion, type ClaimedAttempt } from './attempt-claim-companion.js';
import { ProgressWriter } from './progress-writer.js';
import { WriteBatcher } from './write-batcher.js';

export interface AttemptCompleterOptions {
  readonly db: Db;
  readonly bus: EventBus;
  readonly workerId: string;
  /** The claim's lease; also how long a write is retried while the database is away. */
  readonly leaseMs: number;
  readonly logger: Logger;
  /** Hands the deliveries of what a write left waiting (a retry, released dependants) to the adapter. */
  readonly enqueue: (deliveries: readonly Delivery[]) => Promise<void>;
}

/** The most claims (or completions) one statement writes. */
const MAX_BATCH = 100;

/**
 * The worker's writes of its attempts: claims, progress, completions and failures. Claims and
 * completions that come due together go in one statement (a statement's fixed cost is most of
 * what a write costs); each write's events are handed to the bus (or were sent by the statement
 * itself), and what it left waiting is enqueued. A write that meets the database briefly away
 * (a restart, a terminated connection) is run again for up to one lease: every attempt write is
 * fenced, so a repeat of one that did commit changes nothing, and past a lease the reaper owns
 * the task anyway.
 */
export class AttemptCompleter {
  private readonly claims: WriteBatcher<Delivery, ClaimedAttempt>;
  private readonly completions: WriteBatcher<CompletionItem, void>;

  constructor(private readonly options: AttemptCompleterOptions) {
    this.claims = new WriteBatcher((deliveries) => this.claimBatch(deliveries), { maxBatch: MAX_BATCH, maxInFlight: 1 });
    this.completions = new WriteBatcher((items) => this.completeBatch(items), { maxBatch: MAX_BATCH, maxInFlight: 1 });
  }

  /** Claims the delivery's attempt; no task for a duplicate or stale delivery (someone else has it, or it is done) or one held back. */
  claim(delivery: Delivery): Promise<ClaimedAttempt> {
    return this.claims.add(delivery);
  }

  /** The claim to ride in the delivery claim of an adapter that claims in the store's database (postgres). */
  companion(): ClaimCompanion<ClaimedAttempt> {
    const { workerId, leaseMs, bus } = this.options;
    return attemptClaimCompanion({ workerId, leaseMs, notify: bus.statementNotify }, (batch) => publishWritten(bus, batch));
  }

  /** Writes a success; one whose attempt is no longer running is fenced out and changes nothing. */
  complete(item: CompletionItem): Promise<void> {
    return this.completions.add(item);
  }

  /** Writes an attempt's end without success, where `failureOutcome` sends its task. */
  async fail(task: TaskRecord, error: TaskErrorValue, failure: AttemptFailure): Promise<void> {
    const { bus, db } = this.options;
    const finishedAt = new Date();
    const outcome = failureOutcome(task, failure, finishedAt);
    const item = { taskId: task.id, attempt: task.attempt, error, outcome, finishedAt };
    const ended = await this.storeWrite(() => failAttempts(db, [item], bus.statementNotify));
    publishWritten(bus, ended);
    await this.enqueue(deliveriesOf(ended.tasks.values()));
  }

  /** The attempt's progress reports, coalesced: one write in flight at a time, the latest value last. */
  progress(ref: AttemptRef): ProgressWriter<TaskProgressValue> {
    const { bus, db } = this.options;
    return new ProgressWriter<TaskProgressValue>(async (value) => {
      const notify = bus.statementNotify;
      const events = await recordProgress(db, { ...ref, progress: value }, notify);
      publishWritten(bus, writtenEvents(notify, events));
    });
  }

  /** One batch of claims; a task comes back once, to the first of its deliveries in the batch. */
  private async claimBatch(deliveries: readonly Delivery[]): Promise<ClaimedAttempt[]> {
    const { db, bus, leaseMs, workerId } = this.options;
    const batch = await this.storeWrite(() => claimAttempts(db, deliveries, { workerId, leaseMs, notify: bus.statementNotify }));
    publishWritten(bus, batch);
    const given = new Set<string>();
    return deliveries.map((delivery) => {
      const heldUntil = batch.held.get(delivery.taskId);
      if (heldUntil) return { task: undefined, heldUntil };
      const task = batch.tasks.get(delivery.taskId);
      if (!task || task.attempt !== delivery.attempt || given.has(task.id)) return { task: undefined };
      given.add(task.id);
      return { task };
    });
  }

  private async completeBatch(items: readonly CompletionItem[]): Promise<void[]> {
    const { db, bus } = this.options;
    const batch = await this.storeWrite(() => completeAttempts(db, items, bus.statementNotify));
    publishWritten(bus, batch);
    await this.enqueue(deliveriesOf(batch.released));
    return items.map(() => undefined);
  }

  private storeWrite<T>(write: () => Promise<T>): Promise<T> {
    return retryTransient(write, {
      budgetMs: this.options.leaseMs,
      onRetry: (error) => this.options.logger.warn({ err: toError(error), workerId: this.options.workerId }, 'store write failed; retrying'),
    });
  }

  private async enqueue(deliveries: readonly Delivery[]): Promise<void> {
    if (deliveries.length > 0) await this.options.enqueue(deliveries);
  }
}
