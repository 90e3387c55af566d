/** A queue a worker serves; with `concurrency`, it has that many slots of its own. */
export interface WorkerQueue {
  readonly name: string;
  readonly concurrency?: number | undefined;
}

/** One adapter consumer: the queues it takes from and how many attempts it runs at once. */
export interface ConsumerPlan {
  readonly queues: readonly string[];
  readonly concurrency: number;
}

/**
 * A queue with slots of its own gets a consumer of its own, so a flood on it never takes the
 * slots of the others, nor theirs its; the other queues share one consumer of `sharedConcurrency`.
 */
export function planConsumers(queues: readonly WorkerQueue[], sharedConcurrency: number): ConsumerPlan[] {
  const shared = queues.filter((queue) => queue.concurrency === undefined).map((queue) => queue.name);
  const own = queues.flatMap((queue) => (queue.concurrency === undefined ? [] : [{ queues: [queue.name], concurrency: queue.concurrency }]));
  return shared.length > 0 ? [{ queues: shared, concurrency: sharedConcurrency }, ...own] : own;
}
