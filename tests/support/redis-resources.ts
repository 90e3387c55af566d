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
