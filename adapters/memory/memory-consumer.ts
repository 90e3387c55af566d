import { settleHandle, type ConsumeBasics, type Consumer, type Delivery, type HandleOutcome } from '../queue-adapter.js';

export interface ConsumerHooks {
  /** The delivery's `handle` settled: acknowledge it (or hold it until `postponeUntil`) and hand out more. */
  readonly onSettled: (delivery: Delivery, postponeUntil: Date | undefined) => void;
  /** The consumer stopped taking: the adapter must hand it nothing more. */
  readonly onStop: (consumer: MemoryConsumer) => void;
}

/** One `consume` call: counts its in-flight slots and runs `handle`; the adapter picks deliveries. */
export class MemoryConsumer implements Consumer {
  readonly queues: readonly string[];
  readonly #concurrency: number;
  readonly #handle: (delivery: Delivery) => Promise<HandleOutcome>;
  readonly #hooks: ConsumerHooks;
  #inFlight = 0;
  #stopped = false;
  #drained: Promise<void> | undefined;
  #resolveDrained: (() => void) | undefined;

  constructor(params: ConsumeBasics, hooks: ConsumerHooks) {
    if (!Number.isInteger(params.concurrency) || params.concurrency < 1) {
      throw new RangeError(`consume: concurrency must be a positive integer, got ${params.concurrency}`);
    }
    if (params.queues.length === 0) throw new RangeError('consume: queues must not be empty');
    this.queues = [...params.queues];
    this.#concurrency = params.concurrency;
    this.#handle = params.handle;
    this.#hooks = hooks;
  }

  get canTake(): boolean {
    return !this.#stopped && this.#inFlight < this.#concurrency;
  }

  /** Takes a slot now; `handle` runs on a microtask so it never runs inside the adapter's call. */
  start(delivery: Delivery): void {
    this.#inFlight += 1;
    void settleHandle(() => this.#handle(delivery)).then((until) => this.#settled(delivery, until));
  }

  stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      this.#hooks.onStop(this);
    }
    this.#drained ??=
      this.#inFlight === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            this.#resolveDrained = resolve;
          });
    return this.#drained;
  }

  #settled(delivery: Delivery, postponeUntil: Date | undefined): void {
    this.#inFlight -= 1;
    try {
      this.#hooks.onSettled(delivery, postponeUntil);
    } finally {
      if (this.#inFlight === 0) this.#resolveDrained?.();
    }
  }
}
