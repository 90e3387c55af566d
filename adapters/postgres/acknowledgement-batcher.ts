import type { Delivery } from '../queue-adapter.js';
import { acknowledgeDeliveries } from './sql/settle-deliveries.js';
import type { QueryExecutorProvider } from 'kysely';

/**
 * How long an acknowledgement waits for its consumer's next claim to carry it. A busy consumer
 * claims within a round trip or two of settling a delivery; an idle one claims at once.
 */
const RIDE_ALONG_MS = 20;

/**
 * A consumer's acknowledgements, written by its next claim (`take`) or, when none comes within
 * RIDE_ALONG_MS (an idle or stopping consumer), by a statement of their own per consumer per
 * round, one round at a time. A failed write is reported and dropped:
 * the rows' locks run out and the deliveries come again, which the store's fenced claim turns
 * into no-ops.
 */
export class AcknowledgementBatcher {
  #pending = new Map<string, Delivery[]>();
  #writing: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #dropped = false;

  constructor(
    private readonly db: QueryExecutorProvider,
    private readonly reportError: (error: unknown) => void,
  ) {}

  add(consumerId: string, delivery: Delivery): void {
    if (this.#dropped) return;
    const list = this.#pending.get(consumerId);
    if (list === undefined) this.#pending.set(consumerId, [delivery]);
    else list.push(delivery);
    this.#armTimer();
  }

  /** The consumer's unwritten acknowledgements, handed to its claim statement to write. */
  take(consumerId: string): Delivery[] {
    const list = this.#pending.get(consumerId) ?? [];
    this.#pending.delete(consumerId);
    return list;
  }

  /** Writes what is pending now, and resolves once every acknowledgement added so far is written (or failed). */
  async flushed(): Promise<void> {
    while (this.#pending.size > 0 || this.#writing !== undefined) {
      this.#write();
      await this.#writing;
    }
  }

  /** Forgets everything unwritten, as a killed process would. */
  drop(): void {
    this.#dropped = true;
    this.#pending.clear();
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Writes what is pending after RIDE_ALONG_MS, unless a claim takes it first. */
  #armTimer(): void {
    this.#timer ??= setTimeout(() => this.#write(), RIDE_ALONG_MS);
  }

  #write(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    // Never with nothing pending: #writeRound would then end before `??=` assigns it, for good.
    if (this.#pending.size > 0) this.#writing ??= this.#writeRound();
  }

  /** What is pending now; what comes meanwhile waits for a claim again, or for the timer. */
  async #writeRound(): Promise<void> {
    const round = this.#pending;
    this.#pending = new Map();
    try {
      await Promise.all(
        [...round].map(([consumerId, deliveries]) => acknowledgeDeliveries(this.db, consumerId, deliveries).catch(this.reportError)),
      );
    } finally {
      this.#writing = undefined;
      if (this.#pending.size > 0) this.#armTimer();
    }
  }
}
