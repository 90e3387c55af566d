import { toError } from '../../src/errors/to-error.js';

/** One of a consumer's `concurrency` slots; releasing it twice is harmless. */
export interface Slot {
  release(): void;
}

export interface PrioritySlotGateOptions {
  readonly concurrency: number;
  /** The most urgent rank: its waiters are granted without looking elsewhere. */
  readonly topRank: number;
  /**
   * Whether work of a rank above `rank` waits outside the gate (in Redis) and should come through
   * it before `rank` does. A failed or slow look counts as "no".
   */
  readonly higherRanksWaiting: (rank: number) => Promise<boolean>;
  /** The longest a waiter is held back, or a look may take, for more urgent work seen elsewhere. */
  readonly maxHoldMs: number;
  /** How soon to look again while more urgent work is seen elsewhere. */
  readonly relookMs: number;
  readonly report: (error: Error) => void;
}

interface Waiter {
  readonly rank: number;
  readonly seq: number;
  readonly grant: (slot: Slot | undefined) => void;
  /** When it was first held back for more urgent work, rather than for want of a slot. */
  heldSinceMs?: number;
}

/**
 * Hands a consumer's slots to the deliveries it holds, most urgent rank first, then first come.
 * A delivery below the top rank is granted only once a look finds no more urgent work waiting
 * outside (it would reach the gate a moment later), or once it has been held back `maxHoldMs`.
 * Without the look, a consumer whose handlers are fast hands out whatever its fetches bring in
 * first, and priority would mean little.
 */
export class PrioritySlotGate {
  readonly #options: PrioritySlotGateOptions;
  #waiters: Waiter[] = [];
  #inUse = 0;
  #seq = 0;
  #looking = false;
  #stopped = false;
  #relookTimer: NodeJS.Timeout | undefined;
  #lookTimer: NodeJS.Timeout | undefined;

  constructor(options: PrioritySlotGateOptions) {
    this.#options = options;
  }

  get inUse(): number {
    return this.#inUse;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /** Resolves with a slot, or with undefined once the gate is stopped. */
  acquire(rank: number): Promise<Slot | undefined> {
    if (this.#stopped) return Promise.resolve(undefined);
    return new Promise((grant) => {
      this.#waiters.push({ rank, seq: this.#seq++, grant });
      this.#pump();
    });
  }

  /** Refuses every waiter now and every later `acquire`; slots in use may still be released. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#relookTimer);
    clearTimeout(this.#lookTimer);
    const refused = this.#waiters;
    this.#waiters = [];
    for (const waiter of refused) waiter.grant(undefined);
  }

  /** `clearAbove`: a look just found nothing waiting above this rank. */
  #pump(clearAbove = Number.POSITIVE_INFINITY): void {
    if (this.#stopped || this.#looking) return;
    clearTimeout(this.#relookTimer);
    this.#relookTimer = undefined;
    while (this.#inUse < this.#options.concurrency) {
      const best = this.#best();
      if (best === undefined) return;
      const nowMs = Date.now();
      const mayGo =
        best.rank >= this.#options.topRank ||
        best.rank >= clearAbove ||
        (best.heldSinceMs !== undefined && nowMs - best.heldSinceMs >= this.#options.maxHoldMs);
      if (!mayGo) {
        best.heldSinceMs ??= nowMs;
        this.#look(best.rank);
        return;
      }
      this.#waiters.splice(this.#waiters.indexOf(best), 1);
      this.#inUse += 1;
      // What they were held back for has come: their hold counts afresh from the next look, and
      // the time this work runs is not counted as waiting for it.
      for (const waiter of this.#waiters) if (waiter.rank < best.rank) waiter.heldSinceMs = undefined;
      best.grant(this.#slot());
    }
  }

  #best(): Waiter | undefined {
    let best: Waiter | undefined;
    for (const waiter of this.#waiters) {
      if (best === undefined || waiter.rank > best.rank || (waiter.rank === best.rank && waiter.seq < best.seq)) best = waiter;
    }
    return best;
  }

  #look(rank: number): void {
    this.#looking = true;
    const gaveUp = new Promise<boolean>((resolve) => {
      this.#lookTimer = setTimeout(() => resolve(false), this.#options.maxHoldMs);
    });
    const looked = this.#options.higherRanksWaiting(rank).catch((error: unknown) => {
      this.#options.report(toError(error));
      return false;
    });
    void Promise.race([looked, gaveUp]).then((higherWaiting) => {
      clearTimeout(this.#lookTimer);
      this.#lookTimer = undefined;
      this.#looking = false;
      if (this.#stopped) return;
      if (!higherWaiting) {
        this.#pump(rank);
        return;
      }
      // More urgent work is on its way: wait for it, for a change of mind, or for the hold to end.
      this.#relookTimer = setTimeout(() => this.#pump(), this.#options.relookMs);
    });
  }

  #slot(): Slot {
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#inUse -= 1;
        this.#pump();
      },
    };
  }
}
