import type { ClaimCompanion, ConsumeParams, Consumer, Delivery, HandleOutcome } from '../queue-adapter.js';
import { deliveryId, settleHandle } from '../queue-adapter.js';
import type { ClaimedDelivery } from './sql/claim-deliveries.js';

/** What a consumer needs from its adapter: the SQL, the clock of its polls, and error reports. */
export interface ConsumerPort {
  readonly pollIntervalMs: number;
  claim<T>(consumerId: string, queues: readonly string[], limit: number, companion?: ClaimCompanion<T>): Promise<ClaimedDelivery<T>[]>;
  nextClaimableAt(queues: readonly string[]): Promise<Date | null>;
  acknowledge(consumerId: string, delivery: Delivery): void;
  release(consumerId: string, deliveries: readonly Delivery[]): Promise<void>;
  /** Gives a claimed delivery back, due at `until`. */
  postpone(consumerId: string, delivery: Delivery, until: Date): Promise<void>;
  /** Resolves once the acknowledgements asked for so far are written. */
  flushAcknowledgements(): Promise<void>;
  reportError(error: unknown): void;
  onStop(consumer: ConsumerHandle): void;
}

/** What the adapter does with its consumers, whatever their companion's type. */
export interface ConsumerHandle extends Consumer {
  readonly id: string;
  readonly queues: readonly string[];
  readonly holding: boolean;
  wake(): void;
  crash(): void;
}

const MIN_WAKE_MS = 5;
/**
 * How long after a claim that left slots free the consumer looks up when its queues' next delivery
 * is due. Not at once: at idle that claim's deliveries are being claimed as attempts and started
 * right then, and the lookup would compete with them for the CPU.
 */
const NEXT_DUE_LOOKUP_DELAY_MS = 10;

/**
 * One `consume` call. It claims as many deliveries as it has free slots, in one statement, when
 * woken (by NOTIFY, a settled delivery or its timer) and sleeps until the next delivery of its
 * queues is due or `pollIntervalMs` passed, whichever is first: the poll is what guarantees
 * progress when a notification is lost.
 */
export class PostgresConsumer<T> implements ConsumerHandle {
  readonly queues: readonly string[];
  readonly #id: string;
  readonly #concurrency: number;
  readonly #handle: (delivery: Delivery, claimed?: T) => Promise<HandleOutcome>;
  readonly #companion: ClaimCompanion<T> | undefined;
  readonly #port: ConsumerPort;
  readonly #inFlight = new Map<string, Delivery>();
  /** Postponements being written: a stop waits for them as for acknowledgements. */
  readonly #postponing = new Set<Promise<void>>();
  #filling: Promise<void> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  #timerDueAt = Number.POSITIVE_INFINITY;
  #nextDueLookup: NodeJS.Timeout | undefined;
  #nextDueQuery: Promise<void> | undefined;
  #stopped = false;
  #dead = false;
  #drained: Promise<void> | undefined;
  #resolveDrained: (() => void) | undefined;

  constructor(id: string, params: ConsumeParams<T>, port: ConsumerPort) {
    if (!Number.isInteger(params.concurrency) || params.concurrency < 1) {
      throw new RangeError(`consume: concurrency must be a positive integer, got ${params.concurrency}`);
    }
    if (params.queues.length === 0) throw new RangeError('consume: queues must not be empty');
    this.#id = id;
    this.queues = [...params.queues];
    this.#concurrency = params.concurrency;
    this.#handle = params.handle;
    this.#companion = params.companion;
    this.#port = port;
  }

  get id(): string {
    return this.#id;
  }

  get holding(): boolean {
    return this.#inFlight.size > 0;
  }

  wake(): void {
    if (this.#stopped) return;
    if (this.#filling !== undefined) {
      this.#again = true;
      return;
    }
    this.#filling = this.#fill().finally(() => {
      this.#filling = undefined;
    });
  }

  async #fill(): Promise<void> {
    let lookUpNextDue = false;
    try {
      do {
        this.#again = false;
        const free = this.#concurrency - this.#inFlight.size;
        if (free <= 0) return; // a settling delivery wakes us
        const claimed = await this.#port.claim(this.#id, this.queues, free, this.#companion);
        if (this.#dead) return;
        if (this.#stopped && this.#companion === undefined) {
          if (claimed.length > 0) await this.#port.release(this.#id, claimed.map((taken) => taken.delivery));
          return;
        }
        // Stopped or not, what a companion wrote stays written (its attempts are claimed): they
        // run, and the stop waits for them as for any delivery in flight.
        for (const taken of claimed) this.#start(taken);
        lookUpNextDue = claimed.length < free;
      } while (this.#again && !this.#stopped);
    } catch (error) {
      this.#port.reportError(error);
    } finally {
      this.#sleep(this.#port.pollIntervalMs);
      if (lookUpNextDue) this.#lookUpNextDue();
    }
  }

  /** Wakes the consumer when its queues' next delivery is due, if that is before its timer. */
  #lookUpNextDue(): void {
    if (this.#nextDueLookup !== undefined || this.#nextDueQuery !== undefined || this.#stopped) return;
    this.#nextDueLookup = setTimeout(() => {
      this.#nextDueLookup = undefined;
      this.#nextDueQuery = this.#port
        .nextClaimableAt(this.queues)
        .then((next) => {
          if (next === null || this.#stopped) return;
          const dueAt = Math.max(Date.now() + MIN_WAKE_MS, next.getTime());
          if (dueAt < this.#timerDueAt) this.#sleep(dueAt - Date.now());
        })
        .catch((error: unknown) => this.#port.reportError(error))
        .finally(() => {
          this.#nextDueQuery = undefined;
        });
    }, NEXT_DUE_LOOKUP_DELAY_MS);
  }

  /** For good: once stopped, neither the sleep nor a next-due lookup is armed again. */
  #clearTimers(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDueAt = Number.POSITIVE_INFINITY;
    clearTimeout(this.#nextDueLookup);
  }

  #sleep(ms: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDueAt = Number.POSITIVE_INFINITY;
    if (this.#stopped) return;
    this.#timerDueAt = Date.now() + ms;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerDueAt = Number.POSITIVE_INFINITY;
      this.wake();
    }, ms);
  }

  #start({ delivery, claimed }: ClaimedDelivery<T>): void {
    const id = deliveryId(delivery);
    this.#inFlight.set(id, delivery);
    void settleHandle(() => this.#handle(delivery, claimed)).then((until) => {
      this.#inFlight.delete(id);
      if (!this.#dead) {
        if (until === undefined) this.#port.acknowledge(this.#id, delivery);
        else this.#postpone(delivery, until);
      }
      if (this.#inFlight.size === 0) this.#resolveDrained?.();
      this.wake();
    });
  }

  /** Writes the postponement; a failed write leaves the row locked until its lock runs out, and it comes again. */
  #postpone(delivery: Delivery, until: Date): void {
    // Consumers find it again as any delayed delivery: by the next-due lookup after a short claim, or their poll.
    const written: Promise<void> = this.#port
      .postpone(this.#id, delivery, until)
      .catch((error: unknown) => this.#port.reportError(error))
      .finally(() => this.#postponing.delete(written));
    this.#postponing.add(written);
  }

  stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      this.#clearTimers();
      this.#port.onStop(this);
    }
    this.#drained ??= (async () => {
      await this.#filling;
      await this.#nextDueQuery;
      if (this.#inFlight.size > 0) {
        await new Promise<void>((resolve) => {
          this.#resolveDrained = resolve;
        });
      }
      if (!this.#dead) await Promise.all([this.#port.flushAcknowledgements(), ...this.#postponing]);
    })();
    return this.#drained;
  }

  /** Dies as kill -9 would: takes, acknowledges and renews nothing more; in-flight handles run on unheard. */
  crash(): void {
    this.#dead = true;
    this.#stopped = true;
    this.#clearTimers();
    this.#resolveDrained?.();
  }
}
