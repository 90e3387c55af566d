import { setTimeout as sleep } from 'node:timers/promises';
import { toError } from '../../src/errors/to-error.js';
import { openConsumerQueue } from './bee-queues.js';
import type { BeeQueue, BeeQueueBasics, BeeQueueJob } from './bee-queues.js';
import type { BeeQueueRedis, TakenJobs } from './bee-queue-redis.js';
import { beeQueueKey } from './priority-bands.js';
import { whenReady } from './redis-connections.js';

export interface BandWorkerOptions {
  /** The bee-queue queue of one jobql queue and band. */
  readonly name: string;
  /** The band's urgency, for the consumer's slot gate. */
  readonly rank: number;
  readonly basics: BeeQueueBasics;
  /** How many jobs bee-queue takes from this queue at once for the consumer (its prefetch bound). */
  readonly concurrency: number;
  readonly process: (job: BeeQueueJob) => Promise<void>;
  readonly report: (error: Error) => void;
}

/** bee-queue's close waits this long for jobs in flight: in effect for as long as they take. */
const DRAIN_WITHOUT_LIMIT_MS = 2 ** 31 - 1;
const MAX_REOPEN_DELAY_MS = 5_000;

/**
 * One consumer's bee-queue worker on one band queue. Opening needs Redis: bee-queue connects a
 * blocking and a subscriber client and gives up on the first connection error, so a failed open
 * is retried with a growing delay until it succeeds or the worker stops.
 */
export class BandWorker {
  readonly rank: number;
  /** Where deliveries of this band wait, for the gate's look. */
  readonly waitingKey: string;
  readonly #options: BandWorkerOptions;
  /** Aborted when the worker stops: ends any wait for a connection or before a retry. */
  readonly #stopped = new AbortController();
  readonly #opening: Promise<void>;
  #queue: BeeQueue | undefined;

  constructor(options: BandWorkerOptions) {
    this.#options = options;
    this.rank = options.rank;
    this.waitingKey = beeQueueKey(options.basics.keyPrefix, options.name, 'waiting');
    this.#opening = this.#open();
  }

  /** The queue, once it processes jobs. */
  get queue(): BeeQueue | undefined {
    return this.#queue;
  }

  /** Jobs of this band taken from Redis within `withinMs` that have not reached `process` yet. */
  onTheirWay(withinMs: number): number {
    return this.#takenJobs()?.onTheirWay(withinMs) ?? 0;
  }

  /** bee-queue's blocking client is a duplicate of ours, so it counts what its BRPOPLPUSH takes. */
  #takenJobs(): TakenJobs | undefined {
    return (this.#queue as unknown as { bclient?: BeeQueueRedis } | undefined)?.bclient?.taken;
  }

  /**
   * Stops taking jobs at once, then resolves when those taken have finished and the queue's
   * connections are closed. Synchronous up to its first await, so callers can pause every
   * queue before anything else happens.
   */
  stop(): Promise<void> {
    this.#stopped.abort();
    const closed = this.#queue?.close(DRAIN_WITHOUT_LIMIT_MS);
    return (async () => {
      await this.#opening;
      await closed?.catch(this.#options.report);
    })();
  }

  /** Stops taking jobs and every timer of the queue, acknowledging nothing (see `RedisConsumer.crash`). */
  crash(): void {
    this.#stopped.abort();
    // Pauses at once; what it would still send goes nowhere, as the connections are dropped.
    this.#queue?.close(1).catch(() => {});
  }

  async #open(): Promise<void> {
    const { name, basics, report } = this.#options;
    for (let failures = 0; !this.#stopped.signal.aborted; failures++) {
      try {
        await whenReady(basics.client, this.#stopped.signal);
      } catch {
        return; // stopped, or the adapter closed its client
      }
      if (this.#stopped.signal.aborted) return;
      const queue = openConsumerQueue(name, basics, report);
      try {
        await queue.ready();
        // bee-queue's `process` starts taking jobs after a stall check, never if that check fails:
        // checking first makes such a failure as unlikely as a connection lost in between.
        await queue.checkStalledJobs();
      } catch (error) {
        report(toError(error));
        await queue.close(1).catch(() => {});
        await sleep(Math.min(250 * 2 ** failures, MAX_REOPEN_DELAY_MS), undefined, { signal: this.#stopped.signal }).catch(() => {});
        continue;
      }
      if (this.#stopped.signal.aborted) {
        await queue.close().catch(report);
        return;
      }
      this.#queue = queue;
      queue.process(this.#options.concurrency, (job) => {
        this.#takenJobs()?.received(job.id);
        return this.#options.process(job);
      });
      return;
    }
  }
}
