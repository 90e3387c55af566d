import Queue from 'bee-queue';
import type { BeeQueueRedis } from './bee-queue-redis.js';
import type { DeliveryJobData } from './delivery-job-data.js';

export type BeeQueue = Queue<DeliveryJobData>;
export type BeeQueueJob = Queue.Job<DeliveryJobData>;

export interface BeeQueueBasics {
  /** Ready when a queue is opened (see `whenReady`); shared by the adapter's producing, or consuming, queues. */
  readonly client: BeeQueueRedis;
  readonly keyPrefix: string;
  readonly stallIntervalMs: number;
}

/**
 * How often a consumer gives a held delivery back (when it stops) before bee-queue drops it: the
 * give-back rides on bee-queue's retry (see `RedisConsumer`), so each job carries this many retries.
 */
export const GIVE_BACK_RETRIES = 1_000_000;

/**
 * Raise delayed jobs this close to their time: bee-queue raises together every job due within
 * this window of the earliest, at the latest one's time (its default, 1 s, is too late here).
 */
const DELAYED_DEBOUNCE_MS = 10;

function commonSettings(basics: BeeQueueBasics): Queue.QueueSettings {
  return {
    prefix: basics.keyPrefix,
    // bee-queue's typings know node-redis only; BeeQueueRedis stands in for it at runtime.
    redis: basics.client as unknown as Queue.QueueSettings['redis'],
    stallInterval: basics.stallIntervalMs,
    getEvents: false,
    sendEvents: false,
    storeJobs: false, // otherwise every job saved or run stays in a Map of the queue
    removeOnSuccess: true,
    removeOnFailure: true,
  };
}

/** A queue that only saves jobs: no blocking or subscriber connection of its own. */
export function openProducerQueue(name: string, basics: BeeQueueBasics, report: (error: Error) => void): BeeQueue {
  return openQueue(name, { ...commonSettings(basics), isWorker: false, activateDelayedJobs: false }, report);
}

/**
 * A queue one consumer processes: bee-queue duplicates the client for its blocking BRPOPLPUSH and
 * for the subscription that learns of earlier delayed jobs, which this queue raises when due.
 */
export function openConsumerQueue(name: string, basics: BeeQueueBasics, report: (error: Error) => void): BeeQueue {
  return openQueue(
    name,
    {
      ...commonSettings(basics),
      isWorker: true,
      activateDelayedJobs: true,
      delayedDebounce: DELAYED_DEBOUNCE_MS,
      // Also the longest bee-queue sleeps before looking for due jobs: a notice of an earlier
      // delayed job published while the subscriber reconnected is then late by this much at most.
      nearTermWindow: basics.stallIntervalMs,
    },
    report,
  );
}

function openQueue(name: string, settings: Queue.QueueSettings, report: (error: Error) => void): BeeQueue {
  const queue = new Queue<DeliveryJobData>(name, settings);
  // An 'error' event without a listener throws; bee-queue emits some even after close.
  queue.on('error', report);
  // bee-queue starts connecting in its constructor; callers await `ready()` and handle a failure.
  queue.ready().catch(() => {});
  return queue;
}
