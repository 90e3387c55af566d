import { toError } from '../../src/errors/to-error.js';
import type { BeeQueue } from './bee-queues.js';

/**
 * Runs bee-queue's stall check on a consumer's queues every half `stallIntervalMs`: bee-queue
 * only checks when its user asks. A job a worker holds is renewed every half interval; one not
 * renewed for a whole interval (its consumer died) goes back to waiting for any consumer. The
 * check's lock in Redis makes it run once per interval per queue, however many consumers ask.
 */
export class StallCheckScheduler {
  readonly #queues: () => readonly BeeQueue[];
  readonly #periodMs: number;
  readonly #report: (error: Error) => void;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  /** `queues` is read at each check: a consumer's queues become ready one by one. */
  constructor(queues: () => readonly BeeQueue[], stallIntervalMs: number, report: (error: Error) => void) {
    this.#queues = queues;
    this.#periodMs = Math.max(1, Math.floor(stallIntervalMs / 2));
    this.#report = report;
  }

  start(): void {
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#check(), this.#periodMs);
  }

  async #check(): Promise<void> {
    await Promise.all(
      this.#queues().map((queue) =>
        queue.checkStalledJobs().catch((error: unknown) => {
          // A queue closing under the check answers 'closed'; anything else is worth knowing.
          if (!this.#stopped) this.#report(toError(error));
        }),
      ),
    );
    this.#schedule();
  }
}
