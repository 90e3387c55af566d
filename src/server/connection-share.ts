import pLimit from 'p-limit';
import type { JobService } from '../service/index.js';

/**
 * The service as one request sees it: at most `connections` of its calls run at once, so that a
 * request of many fields (aliases, each a list) holds no more than that many of the pool's
 * connections and the others' requests keep theirs. `watchJob` passes ungated: a subscription
 * reads the store one statement after another.
 */
export function withConnectionShare(service: JobService, connections: number): JobService {
  const limit = pLimit(connections);
  return new Proxy(service, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || property === 'constructor') return value;
      const method = value as (...args: unknown[]) => Promise<unknown>;
      // Bound to the service itself: its own calls of its helpers (checks that throw at once) must not pass the gate.
      if (property === 'watchJob') return method.bind(target);
      return (...args: unknown[]) => limit(() => method.apply(target, args));
    },
  });
}
