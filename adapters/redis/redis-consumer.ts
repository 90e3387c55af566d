import { toError } from '../../src/errors/to-error.js';
import { settleHandle, type ConsumeBasics, type Consumer, type Delivery, type HandleOutcome } from '../queue-adapter.js';
import { BandWorker } from './band-worker.js';
import type { BeeQueueBasics, BeeQueueJob } from './bee-queues.js';
import { fromJobData } from './delivery-job-data.js';
import { BANDS, bandQueueName, bandRank } from './priority-bands.js';
import { PrioritySlotGate } from './priority-slot-gate.js';
import { StallCheckScheduler } from './stall-check-scheduler.js';

export interface RedisConsumerOptions {
  /** On the client that the adapter's consumers share. */
  readonly basics: BeeQueueBasics;
  readonly report: (error: Error) => void;
  /** Saves a copy of the delivery due at `until`, before its job is acknowledged. */
  readonly postpone: (delivery: Delivery, until: Date) => Promise<void>;
  readonly onStopped: (consumer: RedisConsumer) => void;
}

/**
 * How long a delivery may wait for more urgent work that a look saw in Redis (a safety net: that
 * work normally arrives within a few round trips), and how often to look again meanwhile.
 */
const MAX_HOLD_MS = 1_000;
const RELOOK_MS = 20;

/**
 * Thrown to bee-queue for a delivery the consumer holds but will not run (it is stopping). Each job
 * carries retries (`GIVE_BACK_RETRIES`) with bee-queue's immediate backoff, so bee-queue puts it
 * back in its waiting list, at the back of the line, data kept, for another consumer.
 */
class GiveBack extends Error {
  constructor() {
    super('given back: the consumer is stopping');
    this.name = 'GiveBack';
    this.stack = this.message; // bee-queue keeps each failure's stack in the job
  }
}

/**
 * One `consume` call. For each of its queues and each band, a bee-queue worker takes up to
 * `concurrency` jobs (the consumer holds at most bands × concurrency deliveries, renewing their
 * stall locks); a priority-aware gate lets at most `concurrency` of them into `handle` at once,
 * the most urgent band first. A job is acknowledged (removed) when `handle` settles.
 */
export class RedisConsumer implements Consumer {
  readonly #handle: (delivery: Delivery) => Promise<HandleOutcome>;
  readonly #options: RedisConsumerOptions;
  readonly #gate: PrioritySlotGate;
  readonly #workers: BandWorker[];
  readonly #stallChecks: StallCheckScheduler;
  readonly #crashSignal: Promise<void>;
  #signalCrash: () => void = () => {};
  #hasCrashed = false;
  #stopping: Promise<void> | undefined;

  constructor(params: ConsumeBasics, options: RedisConsumerOptions) {
    if (!Number.isInteger(params.concurrency) || params.concurrency < 1) {
      throw new RangeError(`consume: concurrency must be a positive integer, got ${params.concurrency}`);
    }
    if (params.queues.length === 0) throw new RangeError('consume: queues must not be empty');
    this.#handle = params.handle;
    this.#options = options;
    this.#crashSignal = new Promise((resolve) => {
      this.#signalCrash = resolve;
    });
    this.#gate = new PrioritySlotGate({
      concurrency: params.concurrency,
      topRank: bandRank(BANDS[0]),
      higherRanksWaiting: (rank) => this.#higherRanksWaiting(rank),
      maxHoldMs: MAX_HOLD_MS,
      relookMs: RELOOK_MS,
      report: options.report,
    });
    this.#workers = [...new Set(params.queues)].flatMap((queue) =>
      BANDS.map((band) => {
        const rank = bandRank(band);
        return new BandWorker({
          name: bandQueueName(queue, band),
          rank,
          basics: options.basics,
          // One band alone may fill every slot; held beyond that, a job waits at the gate.
          concurrency: params.concurrency,
          process: (job) => this.#process(job, rank),
          report: options.report,
        });
      }),
    );
    this.#stallChecks = new StallCheckScheduler(
      () => this.#workers.flatMap((worker) => worker.queue ?? []),
      options.basics.stallIntervalMs,
      options.report,
    );
    this.#stallChecks.start();
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#stallChecks.stop();
      const stopped = this.#workers.map((worker) => worker.stop()); // each pauses at once
      this.#gate.stop(); // held deliveries are given back, now that nothing takes them again
      await Promise.all(stopped);
      this.#options.onStopped(this);
    })();
    return this.#stopping;
  }

  /**
   * Dies as with its process: stops taking and renewing, lets go of held jobs without a word to
   * Redis. The caller drops the connections in the same tick, before anything here can send.
   */
  crash(): void {
    if (this.#hasCrashed) return;
    this.#hasCrashed = true;
    this.#stopping ??= Promise.resolve();
    this.#stallChecks.stop();
    for (const worker of this.#workers) worker.crash();
    this.#gate.stop();
    this.#signalCrash();
  }

  /** bee-queue's handler: resolving acknowledges the job, throwing GiveBack puts it back. */
  async #process(job: BeeQueueJob, rank: number): Promise<void> {
    let delivery: Delivery;
    try {
      delivery = fromJobData(job.data);
    } catch (error) {
      this.#options.report(toError(error));
      return; // acknowledged: no consumer can do anything with it
    }
    const slot = await this.#gate.acquire(rank);
    if (slot === undefined) {
      if (this.#hasCrashed) return; // its connections are gone: nothing reaches Redis any more
      throw new GiveBack();
    }
    try {
      const handled = settleHandle(() => this.#handle(delivery)).then(async (until) => {
        if (until === undefined || this.#hasCrashed) return;
        // A copy that was not saved: the store still holds the task, and its reconciler enqueues it again.
        await this.#options.postpone(delivery, until).catch((error: unknown) => this.#options.report(toError(error)));
      });
      await Promise.race([handled, this.#crashSignal]);
    } finally {
      slot.release();
    }
  }

  /** Whether a more urgent band of this consumer's queues has deliveries waiting in Redis, or taken and on their way here. */
  async #higherRanksWaiting(rank: number): Promise<boolean> {
    const higher = this.#workers.filter((worker) => worker.rank > rank);
    if (higher.length === 0) return false;
    // Taken by this consumer and a round trip from the gate: neither in Redis' list nor here yet.
    const onTheirWay = (): boolean => higher.some((worker) => worker.onTheirWay(MAX_HOLD_MS) > 0);
    if (onTheirWay()) return true;
    const pipeline = this.#options.basics.client.pipeline();
    for (const worker of higher) pipeline.llen(worker.waitingKey);
    const replies = (await pipeline.exec()) ?? [];
    if (replies.some(([error, length]) => error === null && typeof length === 'number' && length > 0)) return true;
    // One taken just before the LLENs is answered on the blocking connection, which may be read
    // after this one: the replies that came in meanwhile are read before the answer is given.
    await new Promise((resolve) => setImmediate(resolve));
    return onTheirWay();
  }
}
