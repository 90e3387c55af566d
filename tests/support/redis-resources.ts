import { expect } from 'vitest';
import type { ResourceTracker } from './resource-tracker.js';

/** Where the redis adapter's timers and sockets come from, for `trackResources`. */
export const REDIS_SOURCES = ['/adapters/redis/', 'node_modules/ioredis/', 'node_modules/bee-queue/'] as const;

/** Open timers and sockets by `process.getActiveResourcesInfo()`, the runner's own included. */
export function activeResources(): { Timeout: number; TCPSocketWrap: number } {
  const resources = process.getActiveResourcesInfo();
  return {
    Timeout: resources.filter((resource) => resource === 'Timeout').length,
    TCPSocketWrap: resources.filter((resource) => resource === 'TCPSocketWrap').length,
  };
}

/**
 * After a close: nothing the adapter, ioredis or bee-queue made is alive, and the coarse counts
 * (the test runner's own timers included, which may come and go meanwhile) did not grow.
 */
export async function expectNothingLeft(tracker: ResourceTracker, before: ReturnType<typeof activeResources>): Promise<void> {
  expect(await tracker.alive()).toEqual([]);
  const after = activeResources();
  expect(after.Timeout).toBeLessThanOrEqual(before.Timeout);
  expect(after.TCPSocketWrap).toBeLessThanOrEqual(before.TCPSocketWrap);
}
