import { deliveryId } from '../queue-adapter.js';
import type { Delivery } from '../queue-adapter.js';
import { GIVE_BACK_RETRIES, openProducerQueue } from './bee-queues.js';
import type { BeeQueue, BeeQueueBasics, BeeQueueJob } from './bee-queues.js';
import { toJobData } from './delivery-job-data.js';
import { bandOf, bandQueueName, beeQueueKey } from './priority-bands.js';
import { whenReady } from './redis-connections.js';

/** How long a first enqueue to a queue waits for a connection before it fails. */
const READY_TIMEOUT_MS = 10_000;

/**
 * bee-queue's addJob script (hexists, hset, lpush) for many jobs in one call: `saveAll` runs it
 * once per job, a pipeline of 10,000 EVALSHAs for a 10,000-task submission. KEYS: the queue's
 * `jobs` hash and `waiting` list; ARGV: job id, job data, job id, job data, … An id the queue
 * still holds is left as it is, as addJob leaves it.
 */
const ADD_DUE_JOBS = `
for i = 1, #ARGV, 2 do
  if redis.call('hsetnx', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then
    redis.call('lpush', KEYS[2], ARGV[i])
  end
end
return 0`;
const DUE_JOBS_PER_CALL = 1_000;

/**
 * Saves deliveries as bee-queue jobs, per band queue: due ones in batches of a script call each
 * (`ADD_DUE_JOBS`), delayed ones by bee-queue's pipelined `saveAll`. The job id is the
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

  /**
   * Saves a copy of a running delivery, due at `until`. Its job id is the delivery id with the
   * instant beside it, since the running job still holds the plain id until it is acknowledged;
   * a delivery enqueued again meanwhile may so come twice, which the store's fenced claim allows.
   */
  async postpone(delivery: Delivery, until: Date): Promise<void> {
    const queue = await this.#queue(bandQueueName(delivery.queue, bandOf(delivery.priority)));
    const job = toJob(queue, { ...delivery, runAt: until }, Date.now(), `${deliveryId(delivery)}~${until.getTime()}`);
    await job.save();
  }

  /** Due deliveries go in batches (`ADD_DUE_JOBS`), delayed ones through bee-queue's `saveAll`. */
  async #save(name: string, deliveries: readonly Delivery[]): Promise<void> {
    const queue = await this.#queue(name);
    const nowMs = Date.now();
    const jobs = deliveries.map((delivery) => toJob(queue, delivery, nowMs));
    const due = jobs.filter((job) => !job.options.delay);
    const delayed = jobs.filter((job) => job.options.delay);
    const [failures] = await Promise.all([
      delayed.length > 0 ? queue.saveAll(delayed) : new Map<BeeQueueJob, Error>(),
      this.#addDue(name, due),
    ]);
    if (failures.size > 0) {
      throw new AggregateError([...failures.values()], `redis queue adapter: ${failures.size} deliveries to ${name} were not saved`);
    }
  }

  async #addDue(name: string, jobs: readonly BeeQueueJob[]): Promise<void> {
    const { client, keyPrefix } = this.#basics;
    const keys = [beeQueueKey(keyPrefix, name, 'jobs'), beeQueueKey(keyPrefix, name, 'waiting')];
    const batches: Promise<unknown>[] = [];
    for (let start = 0; start < jobs.length; start += DUE_JOBS_PER_CALL) {
      const args: string[] = [];
      for (const job of jobs.slice(start, start + DUE_JOBS_PER_CALL)) args.push(job.id, jobData(job));
      batches.push(client.eval(ADD_DUE_JOBS, keys.length, ...keys, ...args));
    }
    await Promise.all(batches);
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

/** The JSON bee-queue stores for a job (`Job#toData`, which its typings leave out). */
function jobData(job: BeeQueueJob): string {
  return (job as unknown as { toData(): string }).toData();
}

function toJob(queue: BeeQueue, delivery: Delivery, nowMs: number, id = deliveryId(delivery)): BeeQueueJob {
  const job = queue.createJob(toJobData(delivery)).setId(id).retries(GIVE_BACK_RETRIES);
  const runAtMs = delivery.runAt.getTime();
  return runAtMs > nowMs ? job.delayUntil(runAtMs) : job;
}
