/**
 * An async generator whose `return()` takes effect at once. A generator's own `return()` waits
 * until the generator reaches a `yield`, and one waiting for an event that never comes would never
 * get there: a subscription whose client vanished would keep its listener, its timer and its
 * periodic reads for good. The signal passed to `start` fires on `return()` (or `throw()`); the
 * generator is to end its wait then, and its `finally` runs.
 */
export function stoppable<T>(start: (signal: AbortSignal) => AsyncGenerator<T>): AsyncGenerator<T> {
  const stop = new AbortController();
  const inner = start(stop.signal);
  const outer: AsyncGenerator<T> = {
    next: (...args) => inner.next(...args),
    return: (value) => {
      stop.abort();
      return inner.return(value);
    },
    throw: (error: unknown) => {
      stop.abort();
      return inner.throw(error);
    },
    [Symbol.asyncIterator]: () => outer,
  };
  return outer;
}
