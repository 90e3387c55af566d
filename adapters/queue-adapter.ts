/**
 * The queue-adapter contract: how "run task T, attempt N" reaches workers.
 *
 * Terminology:
 * - a *delivery* asks some worker to run one attempt of one task. Its identity is
 *   `taskId + attempt`: enqueueing the same delivery twice while it is pending delivers it once.
 * - a *consumer* takes deliveries from some queues, at most `concurrency` at a time, and hands
 *   each to `handle`. The delivery is acknowledged when `handle` settles, whatever the outcome:
 *   success, failure and retries are the store's business, never the adapter's. The one
 *   exception: `handle` may resolve with a `Postponement`, and the adapter then holds the
 *   delivery again until that instant instead of acknowledging it (the store held its task back:
 *   a rate limit's window is full).
 *
 * Where the contract is leaky, on purpose:
 * - Delivery is at least once. The store is the source of truth and the worker's claim is fenced
 *   by `taskId + attempt`, so a duplicate or stale delivery finds nothing to claim and is dropped.
 * - An adapter may lose a delivery when its process or server dies (memory, a flushed Redis). The
 *   store's reaper and reconciler enqueue again whatever the store holds as QUEUED or whose lease
 *   expired, so adapters need not be durable to keep the system's promise that nothing is lost.
 * - Priority and run-time ordering are best effort across consumers; `capabilities` says how
 *   exact each adapter is, and the contract suite checks what it declares.
 * - A consumer that dies while holding deliveries (its process killed) must not lose them: a
 *   durable adapter hands them to another consumer once the dead one stops renewing its hold.
 *   The memory adapter dies with its process, so there is nobody left to lose them to.
 * - `enqueue` may take the store's open transaction (`executor`) so deliveries commit with the
 *   task rows; adapters that cannot share it (`transactionalEnqueue: false`) ignore it.
 */

import type { RawBuilder } from 'kysely';
import type { QueryExecutorProvider } from 'kysely';

export interface Delivery {
  readonly taskId: string;
  /** The attempt this delivery asks a worker to start (1 for the first run). */
  readonly attempt: number;
  readonly queue: string;
  /** 1–10, higher first. */
  readonly priority: number;
  /** Never handed to a consumer before this instant. */
  readonly runAt: Date;
}

export function deliveryId(delivery: Pick<Delivery, 'taskId' | 'attempt'>): string {
  return `${delivery.taskId}:${delivery.attempt}`;
}

/** What every adapter refuses at enqueue, with a TypeError naming the delivery. */
export function assertValidDelivery(delivery: Delivery): void {
  if (!(delivery.runAt instanceof Date) || Number.isNaN(delivery.runAt.getTime())) {
    throw new TypeError(`delivery ${deliveryId(delivery)}: runAt must be a valid Date`);
  }
  if (!Number.isInteger(delivery.priority)) {
    throw new TypeError(`delivery ${deliveryId(delivery)}: priority must be an integer`);
  }
}

export interface EnqueueParams {
  readonly deliveries: readonly Delivery[];
  /**
   * With `transactionalEnqueue`, the deliveries are written through this executor (an open
   * transaction of the store) and become visible when it commits. Ignored by other adapters.
   */
  readonly executor?: QueryExecutorProvider;
}

/** Deliver the delivery again, no earlier than `until`, instead of acknowledging it. */
export interface Postponement {
  readonly postponeUntil: Date;
}

/** What `handle` resolves with: nothing (acknowledge the delivery) or a postponement. */
export type HandleOutcome = Postponement | void;

/**
 * Runs a delivery's `handle` on a microtask (never inside the adapter's own call) and settles with
 * when the delivery is to come again: undefined, to acknowledge it, whatever the outcome
 * (failures and retries are the store's business), unless `handle` postponed it.
 */
export function settleHandle(handle: () => Promise<HandleOutcome>): Promise<Date | undefined> {
  return Promise.resolve().then(handle).then(postponedUntil, () => undefined);
}

function postponedUntil(outcome: HandleOutcome): Date | undefined {
  if (!outcome) return undefined;
  const until = outcome.postponeUntil;
  return until instanceof Date && !Number.isNaN(until.getTime()) ? until : undefined;
}

/** What a consumer that runs no companion needs of `consume`'s params. */
export interface ConsumeBasics {
  readonly queues: readonly string[];
  /** The most deliveries this consumer has in `handle` at once. */
  readonly concurrency: number;
  readonly handle: (delivery: Delivery) => Promise<HandleOutcome>;
}

export interface ConsumeParams<T = never> extends Omit<ConsumeBasics, 'handle'> {
  /** `claimed` is what `companion` made of the delivery, when the adapter ran it. */
  readonly handle: (delivery: Delivery, claimed?: T) => Promise<HandleOutcome>;
  /** Run by adapters that claim in the store's database; the others ignore it. */
  readonly companion?: ClaimCompanion<T>;
}

/**
 * A write of the store's that rides in the statement claiming deliveries, so that what the
 * worker does first with every delivery (claim its attempt) costs no round trip of its own.
 *
 * - `ctes(now)`: CTEs (`a as (…), b as (…)`) reading the deliveries the statement takes from the
 *   CTE `taken (task_id, attempt)`; `now` is the claim's clock.
 * - The statement returns one row per delivery taken: the delivery's columns (named
 *   `delivery_…`), and `columns` of the relations `join` (`left join …`) adds to `taken`.
 * - `read(rows)` turns those rows, in the statement's order, into one value for each; the
 *   adapter hands each delivery its value in `handle`. If the statement fails, nothing of it
 *   was written: neither the deliveries' claim nor the companion's.
 */
export interface ClaimCompanion<T> {
  ctes(now: Date): RawBuilder<unknown>;
  readonly columns: RawBuilder<unknown>;
  readonly join: RawBuilder<unknown>;
  read(rows: readonly Record<string, unknown>[]): T[];
}

export interface Consumer {
  /** Stops taking deliveries and resolves once those in `handle` have settled. */
  stop(): Promise<void>;
}

export interface AdapterCapabilities {
  /** `exact`: among due deliveries of one queue, a higher priority is always handed out first. */
  readonly priority: 'exact' | 'approximate' | 'none';
  /** Deliveries with a future `runAt` are held by the adapter rather than refused. */
  readonly delayedDelivery: boolean;
  /** Deliveries can commit in the same database transaction as the task rows. */
  readonly transactionalEnqueue: boolean;
  /** Deliveries held by a consumer whose process died go to another consumer. */
  readonly survivesConsumerDeath: boolean;
}

export interface QueueAdapter {
  readonly name: string;
  readonly capabilities: AdapterCapabilities;
  enqueue(params: EnqueueParams): Promise<void>;
  /**
   * Offered by adapters with `transactionalEnqueue`: `enqueue` as a CTE (`name as (…)`) for a
   * statement of the store's own, so that a submission writes its job, tasks, events and
   * deliveries in one statement. The CTE modifies data: it runs whether or not the statement
   * reads it. Throws, as `enqueue` would, on a closed adapter or an invalid delivery.
   */
  enqueueCte?(deliveries: readonly Delivery[]): RawBuilder<unknown>;
  consume<T>(params: ConsumeParams<T>): Consumer;
  /**
   * Calls `listener` when the adapter finds it has lost deliveries it had accepted (its server
   * restarted empty or was flushed), so the worker can enqueue again what the store holds.
   */
  onDeliveriesLost(listener: () => void): () => void;
  /** Where the adapter has a server of its own (not the store's): throws when that server does not answer. */
  checkReachable?(): Promise<void>;
  /** Stops every consumer (letting in-flight deliveries settle) and releases connections. */
  close(): Promise<void>;
}
