/**
 * A buffer between a push source (the event bus) and a pull consumer (an async generator).
 * `next()` waits for the next item, or resolves undefined after `idleMs` with nothing new.
 */
export class EventInbox<T> {
  private readonly items: T[] = [];
  private wake: (() => void) | undefined;

  push(item: T): void {
    this.items.push(item);
    this.wake?.();
  }

  async next(idleMs: number): Promise<T | undefined> {
    if (this.items.length === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, idleMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    return this.items.shift();
  }
}
