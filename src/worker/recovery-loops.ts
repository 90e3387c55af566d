import type { Logger } from 'pino';
import type { Delivery } from '../../adapters/queue-adapter.js';
import { publishWritten, type EventBus } from '../../adapters/event-bus.js';
import { toError } from '../errors/index.js';
import type { Db } from '../store/database.js';
import { failureOutcome } from '../domain/attempt-failure.js';
import { failAttempts } from '../store/fail-attempts.js';
import { findExpiredLeases, findWaitingTasks, retryPolicies } from '../store/recovery.js';
import { deliveriesOf, nextAttemptDelivery } from '../store/deliveries.js';
import { wakeParkedTasks } from '../store/concurrency-keys.js';
import { every } from './every.js';
import type { ProcessMetrics } from '../metrics/process-metrics.js';

export interface RecoveryOptions {
  readonly db: Db;
  readonly bus: EventBus;
  readonly logger: Logger;
  readonly queues: readonly string[];
  readonly reaperIntervalMs: number;
  /** How often QUEUED tasks that have waited at least this long are enqueued again. */
  readonly reconcileIntervalMs: number;
  readonly enqueue: (deliveries: readonly Delivery[]) => Promise<void>;
  /** Counts the attempts the reaper ends. */
  readonly metrics?: ProcessMetrics | undefined;
  /** Subscribes to the adapter's notice that it lost deliveries. */
  readonly onDeliveriesLost: (listener: () => void) => () => void;
}

export interface RecoveryLoops {
  /** Enqueues again every waiting task of these queues (a resumed queue's). */
  reconcile(queues: readonly string[]): void;
  /** Wakes parked tasks now, rather than at the next tick: an attempt with a concurrency key ended. */
  wakeParked(): void;
  stop(): Promise<void>;
}

const PAGE = 1_000;
/** How often a worker wakes tasks parked on a concurrency key that has room again. */
const WAKE_INTERVAL_MS = 200;

/**
 * What keeps the promise that nothing is lost:
 * - the reconciler enqueues again the waiting (QUEUED or SCHEDULED) tasks of the worker's queues:
 *   all of them at start and whenever the adapter reports a loss, those of a queue when it is
 *   resumed (a worker drops the deliveries of a paused queue), and every `reconcileIntervalMs`
 *   those that have waited longer than that and are due within it (a crash between commit and
 *   enqueue). Paused queues' tasks are left waiting. Deliveries are idempotent, so a repeat costs nothing but the write;
 * - the reaper ends attempts whose lease expired and queues their next attempt;
 * - the waker enqueues the tasks parked on a concurrency key once it has room again.
 */
export async function startRecoveryLoops(options: RecoveryOptions): Promise<RecoveryLoops> {
  await reconcileQueued(options);
  let stopped = false;
  // One wake at a time, the tick's or an ended attempt's; a call during one asks for another after it.
  let waking: Promise<void> | undefined;
  let wakeAgain = false;
  const wakeLogged = (): void => {
    wake().catch((error: unknown) => options.logger.warn({ err: toError(error) }, 'waking parked tasks failed; the next tick retries'));
  };
  const wake = (): Promise<void> => {
    if (waking) {
      wakeAgain = true;
      return waking;
    }
    waking = wakeParked(options)
      .then(() => undefined)
      .finally(() => {
        waking = undefined;
        if (wakeAgain && !stopped) {
          wakeAgain = false;
          wakeLogged();
        }
      });
    return waking;
  };
  const loops = [
    every(options.reaperIntervalMs, () => reapExpiredLeases(options), 'lease reaper', options.logger),
    every(
      options.reconcileIntervalMs,
      () => {
        const now = Date.now();
        // Tasks due later were enqueued as delayed deliveries; the net only needs those coming due.
        return reconcileQueued(options, {
          queuedBefore: new Date(now - options.reconcileIntervalMs),
          dueBefore: new Date(now + options.reconcileIntervalMs),
        });
      },
      'reconciler',
      options.logger,
    ),
    every(WAKE_INTERVAL_MS, wake, 'concurrency-key waker', options.logger),
  ];
  let pending: Promise<unknown> = Promise.resolve();
  const reconcileNow = (queues: readonly string[], why: string): void => {
    pending = pending.then(() => reconcileQueued({ ...options, queues })).catch((error: unknown) => {
      options.logger.warn({ err: toError(error) }, `reconciling ${why} failed; the periodic reconciler will retry`);
    });
  };
  const unsubscribe = options.onDeliveriesLost(() => {
    options.logger.warn('the queue adapter lost deliveries: enqueueing every waiting task again');
    reconcileNow(options.queues, 'after a loss');
  });
  return {
    reconcile(queues) {
      if (!stopped) reconcileNow(queues, 'after a resume');
    },
    wakeParked() {
      if (!stopped) wakeLogged();
    },
    async stop() {
      stopped = true;
      unsubscribe();
      await Promise.all(loops.map((loop) => loop.stop()));
      await Promise.all([pending, waking?.catch(() => {})]);
    },
  };
}

async function reconcileQueued(
  options: RecoveryOptions,
  window: { readonly queuedBefore?: Date; readonly dueBefore?: Date } = {},
): Promise<number> {
  let afterId: string | null = null;
  let total = 0;
  for (;;) {
    const page = await findWaitingTasks(options.db, {
      queues: options.queues,
      afterId,
      limit: PAGE,
      ...window,
    });
    if (page.length === 0) break;
    await options.enqueue(page.map(nextAttemptDelivery));
    total += page.length;
    afterId = page[page.length - 1]?.id ?? null;
    if (page.length < PAGE) break;
  }
  if (total > 0) options.logger.info({ tasks: total }, 'enqueued waiting tasks found in the store');
  return total;
}

async function wakeParked(options: RecoveryOptions): Promise<number> {
  const woken = await wakeParkedTasks(options.db);
  if (woken.length > 0) await options.enqueue(woken.map(nextAttemptDelivery));
  return woken.length;
}

/** Ends the expired attempts as failed (LEASE_EXPIRED), in one statement, and enqueues the next ones where due. */
async function reapExpiredLeases(options: RecoveryOptions): Promise<number> {
  const expired = await findExpiredLeases(options.db, { now: new Date(), limit: PAGE });
  if (expired.length === 0) return 0;
  // An attempt that ended meanwhile (its worker finished it after all, another reaper got there first) has no policy.
  const policies = await retryPolicies(options.db, expired);
  const now = new Date();
  const items = expired.flatMap((ref) => {
    const policy = policies.get(ref.taskId);
    if (!policy) return [];
    const error = { code: 'LEASE_EXPIRED', message: `The worker running attempt ${ref.attempt} stopped renewing its lease` };
    return [{ ...ref, error, outcome: failureOutcome(policy, {}, now), finishedAt: now }];
  });
  const ended = await failAttempts(options.db, items, options.bus.statementNotify);
  publishWritten(options.bus, ended);
  const deliveries = deliveriesOf(ended.tasks.values());
  if (deliveries.length > 0) await options.enqueue(deliveries);
  for (const task of ended.tasks.values()) options.metrics?.attemptsExpired.inc({ queue: task.queue });
  if (ended.tasks.size > 0) options.logger.warn({ tasks: ended.tasks.size }, 're-queued tasks whose worker stopped renewing its lease');
  return ended.tasks.size;
}
