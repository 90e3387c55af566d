import { deliveryId } from '../queue-adapter.js';
import type { Delivery } from '../queue-adapter.js';
import { GIVE_BACK_RETRIES, openProducerQueue } from './bee-queues.js';
import type { BeeQueue, BeeQueueBasics, BeeQueueJob } from './bee-queues.js';
import { toJobData } from './delivery-job-data.js';
import { bandOf, bandQueueName } from './priority-bands.js';
import { whenReady } from './redis-connections.js';

/** How long a first enqueue to a queue waits for a connection before it fails. */
const READY_TIMEOUT_MS = 10_000;

/**
 * Saves deliveries as bee-queue jobs, one pipelined `saveAll` per band queue. The job id is the
 * delivery id, and bee-queue's addJob script refuses an id its queue still holds, so enqueueing a
 * pending or running delivery again is a no-op; once acknowledged, the job is removed and the id
 * is free again.
 */
export class DeliveryProducer {
  readonly #basics: BeeQueueBasics;
  readonly #report: (error: Error) => void;
  readonly #queues = new Map<string, Promise<BeeQueue>>();
  readonly #opened: BeeQueue[] = [];
  #closed = false;

  constructor(basics: BeeQueueBasics, report: (error: Error) => void) {
    this.#basics = basics;
    this.#report = report;
  }

  async enqueue(deliveries: readonly Delivery[]): Promise<void> {
    const byBandQueue = new Map<string, Delivery[]>();
    for (const delivery of deliveries) {
      const name = bandQueueName(delivery.queue, bandOf(delivery.priority));
      const group = byBandQueue.get(name);
      if (group === undefined) byBandQueue.set(name, [delivery]);
      else group.push(delivery);
    }
    await Promise.all([...byBandQueue].map(([name, group]) => this.#save(name, group)));
  }

  async #save(name: string, deliveries: readonly Delivery[]): Promise<void> {
    const queue = await this.#queue(name);
    const nowMs = Date.now();
    const jobs = deliveries.map((delivery) => toJob(queue, delivery, nowMs));
    const failures = await queue.saveAll(jobs);
    if (failures.size > 0) {
      throw new AggregateError([...failures.values()], `redis queue adapter: ${failures.size} deliveries to ${name} were not saved`);
    }
  }

  #queue(name: string): Promise<BeeQueue> {
    let queue = this.#queues.get(name);
    if (queue === undefined) {
      queue = this.#open(name);
      this.#queues.set(name, queue);
      // A failed open is retried by the next enqueue.
      const opening = queue;
      opening.catch(() => {
        if (this.#queues.get(name) === opening) this.#queues.delete(name);
      });
    }
    return queue;
  }

  async #open(name: string): Promise<BeeQueue> {
    const gaveUp = new AbortController();
    const timer = setTimeout(() => gaveUp.abort(), READY_TIMEOUT_MS);
    try {
      await whenReady(this.#basics.client, gaveUp.signal);
    } catch (error) {
      throw new Error(`redis queue adapter: no connection to Redis (waited up to ${READY_TIMEOUT_MS} ms)`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
    if (this.#closed) throw new Error('redis queue adapter is closed');
    const queue = openProducerQueue(name, this.#basics, this.#report);
    this.#opened.push(queue);
    await queue.ready();
    return queue;
  }

  /** Closes the queues; bee-queue leaves the shared client to its owner. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled(this.#queues.values());
    await Promise.all(this.#opened.map((queue) => queue.close().catch(this.#report)));
  }

  /** Stops the queues at once, as a killed process would (their connections are dropped apart). */
  drop(): void {
    this.#closed = true;
    for (const queue of this.#opened) queue.close(1).catch(() => {});
  }
}

function toJob(queue: BeeQueue, delivery: Delivery, nowMs: number): BeeQueueJob {
  const job = queue.createJob(toJobData(delivery)).setId(deliveryId(delivery)).retries(GIVE_BACK_RETRIES);
  const runAtMs = delivery.runAt.getTime();
  return runAtMs > nowMs ? job.delayUntil(runAtMs) : job;
}
