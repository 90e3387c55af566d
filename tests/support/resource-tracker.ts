import { createHook } from 'node:async_hooks';

/** Timers and sockets, as async_hooks names them. */
const TRACKED_TYPES = new Set(['Timeout', 'TCPWRAP', 'TCPCONNECTWRAP']);

export interface ResourceTracker {
  /** The tracked resources still alive, each as its type and the frame that created it. */
  alive(): Promise<string[]>;
  stop(): void;
}

/**
 * Records the timers and sockets created from now on whose creation stack mentions one of
 * `sources` (paths such as `/adapters/redis/` or `node_modules/ioredis`), so a leak check is not
 * thrown off by the test runner's own timers, which `process.getActiveResourcesInfo()` counts too.
 */
export function trackResources(sources: readonly string[]): ResourceTracker {
  const live = new Map<number, string>();
  const previousLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  const hook = createHook({
    init(asyncId, type) {
      if (!TRACKED_TYPES.has(type)) return;
      const frames = (new Error().stack ?? '').split('\n').slice(1);
      const origin = frames.find((frame) => sources.some((source) => frame.includes(source)));
      if (origin !== undefined) live.set(asyncId, `${type} ${origin.trim()}`);
    },
    destroy(asyncId) {
      live.delete(asyncId);
    },
  }).enable();
  return {
    async alive() {
      // Destroy hooks run asynchronously after a timer is cleared or a socket closed.
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
      return [...live.values()];
    },
    stop() {
      hook.disable();
      Error.stackTraceLimit = previousLimit;
    },
  };
}
