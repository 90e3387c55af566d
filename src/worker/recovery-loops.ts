import type { Logger } from 'pino';
import type { Delivery } from '../../adapters/queue-adapter.js';
import type { EventBus } from '../events/event-bus.js';
import { toError } from '../errors/index.js';
import type { Db } from '../store/database.js';
import { failAttempt } from '../store/attempts.js';
import { findExpiredLeases, findQueuedTasks } from '../store/recovery.js';
import { nextAttemptDelivery } from './deliveries.js';

export interface RecoveryOptions {
  readonly db: Db;
  readonly bus: EventBus;
  readonly logger: Logger;
  readonly queues: readonly string[];
  readonly reaperIntervalMs: number;
  readonly enqueue: (deliveries: readonly Delivery[]) => Promise<void>;
}

export interface RecoveryLoops {
  stop(): Promise<void>;
}

const PAGE = 1_000;

/**
 * Enqueues again every QUEUED task of the worker's queues (the adapter may have lost them with a
 * crashed process: deliveries are idempotent, so repeats cost nothing), then reaps expired leases
 * on a timer for as long as the worker runs.
 */
export async function startRecoveryLoops(options: RecoveryOptions): Promise<RecoveryLoops> {
  await reconcileQueued(options);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  const tick = (): void => {
    inFlight = reapExpiredLeases(options)
      .then(() => undefined)
      .catch((error: unknown) => options.logger.warn({ err: toError(error) }, 'lease reaper failed; will retry'))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, options.reaperIntervalMs);
      });
  };
  timer = setTimeout(tick, options.reaperIntervalMs);
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await inFlight;
    },
  };
}

export async function reconcileQueued(options: RecoveryOptions): Promise<number> {
  let afterId: string | null = null;
  let total = 0;
  for (;;) {
    const page = await findQueuedTasks(options.db, { queues: options.queues, afterId, limit: PAGE });
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
    if (end.task.status === 'QUEUED') await options.enqueue([nextAttemptDelivery(end.task)]);
  }
  if (reaped > 0) options.logger.warn({ tasks: reaped }, 're-queued tasks whose worker stopped renewing its lease');
  return reaped;
}
