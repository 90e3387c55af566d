import type { Delivery } from '../queue-adapter.js';
import type { Db } from '../../src/store/database.js';
import { acknowledgeDeliveries } from './sql/settle-deliveries.js';

/**
 * Acknowledgements written one statement per consumer per round: while one round is being
 * written the next collects, so a busy consumer deletes its finished rows in batches instead of
 * one round trip each. A failed write is reported and dropped: the rows' locks run out and the
 * deliveries come again, which the store's fenced claim turns into no-ops.
 */
export class AcknowledgementBatcher {
  #pending = new Map<string, Delivery[]>();
  #writing: Promise<void> | undefined;
  #dropped = false;

  constructor(
    private readonly db: Db,
    private readonly reportError: (error: unknown) => void,
  ) {}

  add(consumerId: string, delivery: Delivery): void {
    if (this.#dropped) return;
    const list = this.#pending.get(consumerId);
    if (list === undefined) this.#pending.set(consumerId, [delivery]);
    else list.push(delivery);
    this.#writing ??= this.#writeRounds();
  }

  /** Resolves once every acknowledgement added so far is written (or failed). */
  async flushed(): Promise<void> {
    while (this.#writing !== undefined) await this.#writing;
  }

  /** Forgets everything unwritten, as a killed process would. */
  drop(): void {
    this.#dropped = true;
    this.#pending.clear();
  }

  async #writeRounds(): Promise<void> {
    try {
      while (this.#pending.size > 0) {
        const round = this.#pending;
        this.#pending = new Map();
        await Promise.all(
          [...round].map(([consumerId, deliveries]) =>
            acknowledgeDeliveries(this.db, consumerId, deliveries).catch(this.reportError),
          ),
        );
      }
    } finally {
      this.#writing = undefined;
    }
  }
}
