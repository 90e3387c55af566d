interface Round {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

function newRound(): Round {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A caller that does not await its report must not crash the process when a write fails.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/**
 * Coalesces one attempt's progress writes: at most one is in flight; values reported meanwhile
 * replace each other, and the latest is written when the flight lands. A handler reporting
 * thousands of times a second costs a write per round trip, and the last value always reaches
 * the store, even after a failed write.
 */
export class ProgressWriter<T> {
  private pending: { value: T; round: Round } | undefined;
  private current: Round | undefined;
  private draining = false;

  constructor(private readonly write: (value: T) => Promise<void>) {}

  /** Settles when `value`, or a later value that replaced it, is written (or its write failed). */
  report(value: T): Promise<void> {
    const round = this.pending?.round ?? newRound();
    this.pending = { value, round };
    if (!this.draining) void this.drain();
    return round.promise;
  }

  /** Settles when everything reported so far has been written. */
  flush(): Promise<void> {
    return (this.pending?.round ?? this.current)?.promise ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    // Yield first, so a write that throws at once still settles through its round.
    await Promise.resolve();
    while (this.pending) {
      const { value, round } = this.pending;
      this.pending = undefined;
      this.current = round;
      try {
        await this.write(value);
        round.resolve();
      } catch (error) {
        round.reject(error);
      }
    }
    this.current = undefined;
    this.draining = false;
  }
}
