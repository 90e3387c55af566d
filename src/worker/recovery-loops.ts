import type { Logger } from 'pino';
import type { Delivery } from '../../adapters/queue-adapter.js';
import type { EventBus } from '../../adapters/event-bus.js';
import { toError } from '../errors/index.js';
import type { Db } from '../store/database.js';
import { failAttempt } from '../store/attempts.js';
import { findExpiredLeases, findWaitingTasks } from '../store/recovery.js';
import { deliveriesAfter, nextAttemptDelivery } from '../store/deliveries.js';
import { every } from './every.js';

export interface RecoveryOptions {
  readonly db: Db;
  readonly bus: EventBus;
  readonly logger: Logger;
  readonly queues: readonly string[];
  readonly reaperIntervalMs: number;
  /** How often QUEUED tasks that have waited at least this long are enqueued again. */
  readonly reconcileIntervalMs: number;
  readonly enqueue: (deliveries: readonly Delivery[]) => Promise<void>;
  /** Subscribes to the adapter's notice that it lost deliveries. */
  readonly onDeliveriesLost: (listener: () => void) => () => void;
}

export interface RecoveryLoops {
  stop(): Promise<void>;
}

const PAGE = 1_000;

/**
 * What keeps the promise that nothing is lost:
 * - the reconciler enqueues again the waiting (QUEUED or SCHEDULED) tasks of the worker's queues:
 *   all of them at start and whenever the adapter reports a loss, and every `reconcileIntervalMs`
 *   those that have waited longer than that and are due within it (a crash between commit and
 *   enqueue). Deliveries are idempotent, so a repeat costs nothing but the write;
 * - the reaper ends attempts whose lease expired and queues their next attempt.
 */
export async function startRecoveryLoops(options: RecoveryOptions): Promise<RecoveryLoops> {
  await reconcileQueued(options);
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
  ];
  let afterLoss: Promise<unknown> = Promise.resolve();
  const unsubscribe = options.onDeliveriesLost(() => {
    options.logger.warn('the queue adapter lost deliveries: enqueueing every waiting task again');
    afterLoss = afterLoss.then(() => reconcileQueued(options)).catch((error: unknown) => {
      options.logger.warn({ err: toError(error) }, 'reconciling after a loss failed; the periodic reconciler will retry');
    });
  });
  return {
    async stop() {
      unsubscribe();
      await Promise.all(loops.map((loop) => loop.stop()));
      await afterLoss;
    },
  };
}

export async function reconcileQueued(
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

/** Ends each expired attempt as failed (LEASE_EXPIRED) and enqueues the next one where due. */
export async function reapExpiredLeases(options: RecoveryOptions): Promise<number> {
  const expired = await findExpiredLeases(options.db, { now: new Date(), limit: PAGE });
  let reaped = 0;
  for (const ref of expired) {
    const end = await failAttempt(options.db, {
      ...ref,
      error: { code: 'LEASE_EXPIRED', message: `The worker running attempt ${ref.attempt} stopped renewing its lease` },
    });
    if (!end) continue; // the worker finished it after all, or another reaper got there first
    reaped += 1;
    options.bus.publish(end.events);
    const deliveries = deliveriesAfter(end);
    if (deliveries.length > 0) await options.enqueue(deliveries);
  }
  if (reaped > 0) options.logger.warn({ tasks: reaped }, 're-queued tasks whose worker stopped renewing its lease');
  return reaped;
}
