import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** An id a caller sent (`X-Request-Id`) is kept when it is this plain; any other gets one of ours. */
const CALLERS_ID = /^[\w.:-]{1,64}$/;

const current = new AsyncLocalStorage<{ readonly requestId: string }>();

/** The request id to use for a request that arrived with `header` (an `X-Request-Id` value or none). */
export function requestIdFor(header: string | string[] | undefined): string {
  return typeof header === 'string' && CALLERS_ID.test(header) ? header : randomUUID();
}

/** Runs `work` as part of request `requestId`: every log line written meanwhile carries it. */
export function inRequest<T>(requestId: string, work: () => T): T {
  return current.run({ requestId }, work);
}

/** pino's `mixin`: the fields of the request being served, if any. */
export function requestLogFields(): { readonly requestId?: string } {
  return current.getStore() ?? {};
}

/** The iterable, each of its steps run as part of request `requestId` (a subscription's events, resolved as they come). */
export function iteratedInRequest<T>(requestId: string, iterable: AsyncIterable<T>): AsyncIterableIterator<T> {
  const iterator = iterable[Symbol.asyncIterator]();
  const wrapped: AsyncIterableIterator<T> = {
    next: (...args) => inRequest(requestId, () => iterator.next(...args)),
    return: (value) => inRequest(requestId, () => iterator.return?.(value) ?? Promise.resolve({ done: true as const, value })),
    throw: (error) => inRequest(requestId, () => iterator.throw?.(error) ?? Promise.reject(error)),
    [Symbol.asyncIterator]: () => wrapped,
  };
  return wrapped;
}
