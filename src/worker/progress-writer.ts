/**
 * Coalesces one attempt's progress writes: at most one is in flight; calls made meanwhile replace
 * each other, and the latest is written when the flight lands. A handler reporting thousands of
 * times a second costs a write per round trip, and the last value always reaches the store.
 */
export class ProgressWriter<T> {
  private inFlight: Promise<void> | undefined;
  private pending: T | undefined;
  private hasPending = false;

  constructor(private readonly write: (value: T) => Promise<void>) {}

  /** Resolves when `value`, or a later value that replaced it, is written. */
  report(value: T): Promise<void> {
    this.pending = value;
    this.hasPending = true;
    if (!this.inFlight) this.inFlight = this.drain();
    return this.inFlight;
  }

  /** Resolves when everything reported so far has been written. */
  flush(): Promise<void> {
    return this.inFlight ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    try {
      while (this.hasPending) {
        const value = this.pending as T;
        this.hasPending = false;
        this.pending = undefined;
        await this.write(value);
      }
    } finally {
      this.inFlight = undefined;
    }
  }
}
