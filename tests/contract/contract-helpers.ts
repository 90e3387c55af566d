import { randomUUID } from 'node:crypto';
import { deliveryId } from '../../adapters/queue-adapter.js';
import type { Delivery } from '../../adapters/queue-adapter.js';

/** A queue name no other test (or test run sharing a server) uses. */
export function uniqueQueue(label: string): string {
  return `contract-${label}-${randomUUID().slice(0, 8)}`;
}

export function makeDelivery(queue: string, overrides: Partial<Omit<Delivery, 'queue'>> = {}): Delivery {
  return { taskId: randomUUID(), attempt: 1, priority: 5, runAt: new Date(), ...overrides, queue };
}

export function makeDeliveries(queue: string, count: number): Delivery[] {
  return Array.from({ length: count }, () => makeDelivery(queue));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** A latch handlers can wait on; opening it twice is harmless. */
export interface Gate {
  readonly opened: Promise<void>;
  open(): void;
}

export function createGate(): Gate {
  let open = (): void => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

export interface Handled {
  readonly delivery: Delivery;
  readonly startedAtMs: number;
}

/** A `handle` that records what it was given, counts in-flight calls and can be slowed or gated. */
export interface Recorder {
  readonly handle: (delivery: Delivery) => Promise<void>;
  readonly handled: Handled[];
  readonly finished: Delivery[];
  readonly inFlight: number;
  readonly maxInFlight: number;
  /** How many times a delivery with this id was handed out. */
  count(id: string): number;
  /** True once every delivery given has been handed out at least once. */
  hasAll(deliveries: readonly Delivery[]): boolean;
}

export function createRecorder(options: { holdMs?: number; gate?: Gate } = {}): Recorder {
  const handled: Handled[] = [];
  const finished: Delivery[] = [];
  const counts = new Map<string, number>();
  let inFlight = 0;
  let maxInFlight = 0;
  return {
    handled,
    finished,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    count: (id) => counts.get(id) ?? 0,
    hasAll: (deliveries) => deliveries.every((delivery) => counts.has(deliveryId(delivery))),
    async handle(delivery) {
      handled.push({ delivery, startedAtMs: Date.now() });
      counts.set(deliveryId(delivery), (counts.get(deliveryId(delivery)) ?? 0) + 1);
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        if (options.holdMs !== undefined) await sleep(options.holdMs);
        if (options.gate !== undefined) await options.gate.opened;
      } finally {
        inFlight -= 1;
        finished.push(delivery);
      }
    },
  };
}

/** Tracks whether a promise has settled, without awaiting it. */
export function track(promise: Promise<unknown>): { readonly settled: boolean } {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  return {
    get settled() {
      return settled;
    },
  };
}
