/** setTimeout fires at once (with a TimeoutOverflowWarning) for longer delays. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * One re-armable timer that calls `onWake` no later than the earliest instant asked for.
 * It may wake earlier (sleeps are capped at `maxSleepMs`), so `onWake` must re-read the clock.
 */
export class WakeTimer {
  readonly #onWake: () => void;
  readonly #maxSleepMs: number;
  #timer: NodeJS.Timeout | undefined;
  #wakeAtMs = Number.POSITIVE_INFINITY;

  constructor(onWake: () => void, maxSleepMs: number = MAX_TIMEOUT_MS) {
    this.#onWake = onWake;
    this.#maxSleepMs = Math.min(maxSleepMs, MAX_TIMEOUT_MS);
  }

  /** Makes sure a wake happens at `atMs` (epoch ms) or sooner; a sooner wake already set stays. */
  wakeBy(atMs: number): void {
    if (this.#timer !== undefined && this.#wakeAtMs <= atMs) return;
    this.cancel();
    const now = Date.now();
    const delay = Math.min(Math.max(atMs - now, 0), this.#maxSleepMs);
    this.#wakeAtMs = now + delay;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#wakeAtMs = Number.POSITIVE_INFINITY;
      this.#onWake();
    }, delay);
  }

  cancel(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#wakeAtMs = Number.POSITIVE_INFINITY;
  }
}
