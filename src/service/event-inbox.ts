/**
 * A buffer between a push source (the event bus) and a pull consumer (an async generator).
 * `next()` waits for the next item, or resolves undefined after `idleMs` with nothing new.
 *
 * A thousand of them take the same events at once, so each keeps one idle timer, re-armed for
 * every wait, rather than making a timer for every wait.
 */
export class EventInbox<T> {
  private readonly items: T[] = [];
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly idleMs: number) {}

  push(item: T): void {
    this.items.push(item);
    this.resume();
  }

  /** Undefined at once when closed. */
  async next(): Promise<T | undefined> {
    if (this.closed) return undefined;
    if (this.items.length === 0) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        if (this.timer) this.timer.refresh();
        else this.timer = setTimeout(() => this.resume(), this.idleMs);
      });
    }
    return this.items.shift();
  }

  /** Stops the idle timer and ends a wait in progress: what a consumer that is done calls. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.resume();
  }

  private resume(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
