import type { Logger } from 'pino';
import { toError } from '../errors/index.js';
import type { Db } from '../store/database.js';
import { heartbeatWorker, markWorkerStopped, registerWorker, type WorkerRegistration } from '../store/worker-registry.js';
import { every, type Loop } from './every.js';
import { ThroughputTally } from '../domain/throughput-tally.js';

export interface WorkerPresenceOptions {
  readonly db: Db;
  readonly logger: Logger;
  readonly registration: WorkerRegistration;
  /** How many attempts the worker runs now, for its heartbeat. */
  readonly running: () => number;
  readonly intervalMs: number;
  /** Queues that were paused and are no longer: their waiting tasks need deliveries again. */
  readonly onResumed: (queues: readonly string[]) => void;
}

/**
 * The worker's row in the store: registered at start, heartbeated every `intervalMs` (which
 * brings back the paused queues), STOPPED at the end. The paused set lets the worker drop, rather
 * than claim, a delivery of a paused queue; the claim's own check is what makes a pause exact.
 */
export class WorkerPresence {
  /** The worker's attempts per queue, written with each heartbeat. */
  readonly tally = new ThroughputTally();
  #paused = new Set<string>();
  #loop: Loop | undefined;

  constructor(private readonly options: WorkerPresenceOptions) {}

  async start(): Promise<void> {
    await registerWorker(this.options.db, this.options.registration);
    await this.beat();
    this.#loop = every(this.options.intervalMs, () => this.beat(), 'worker heartbeat', this.options.logger);
  }

  isPaused(queue: string): boolean {
    return this.#paused.has(queue);
  }

  async stop(): Promise<void> {
    await this.#loop?.stop();
    this.#loop = undefined;
    await markWorkerStopped(this.options.db, this.options.registration.id).catch((error: unknown) =>
      this.options.logger.warn({ err: toError(error) }, 'could not record that the worker stopped; it shows LOST once its lease runs out'),
    );
  }

  private async beat(): Promise<void> {
    const paused = await heartbeatWorker(this.options.db, {
      id: this.options.registration.id,
      running: this.options.running(),
      throughput: this.tally.snapshot(),
    });
    const served = new Set(this.options.registration.queues.map((queue) => queue.name));
    const resumed = [...this.#paused].filter((queue) => !paused.has(queue) && served.has(queue));
    const newlyPaused = [...paused].filter((queue) => !this.#paused.has(queue) && served.has(queue));
    this.#paused = paused;
    if (newlyPaused.length > 0) this.options.logger.info({ queues: newlyPaused }, 'queues paused: their tasks wait');
    if (resumed.length > 0) {
      this.options.logger.info({ queues: resumed }, 'queues resumed');
      this.options.onResumed(resumed);
    }
  }
}
