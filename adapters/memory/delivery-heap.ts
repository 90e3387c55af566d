import type { Delivery } from '../queue-adapter.js';
import { BinaryHeap } from './binary-heap.js';

/** A delivery held by the memory adapter, with what its orderings compare. */
export interface HeldDelivery {
  readonly delivery: Delivery;
  readonly runAtMs: number;
  /** Enqueue order across the adapter: the last tie-break, so equal deliveries stay FIFO. */
  readonly seq: number;
}

export type DeliveryHeap = BinaryHeap<HeldDelivery>;

/** Among due deliveries: higher priority, then earlier runAt, then enqueue order. */
export function dueFirst(a: HeldDelivery, b: HeldDelivery): boolean {
  if (a.delivery.priority !== b.delivery.priority) return a.delivery.priority > b.delivery.priority;
  if (a.runAtMs !== b.runAtMs) return a.runAtMs < b.runAtMs;
  return a.seq < b.seq;
}

/** Among delayed deliveries: the one that falls due first. */
function earliestFirst(a: HeldDelivery, b: HeldDelivery): boolean {
  if (a.runAtMs !== b.runAtMs) return a.runAtMs < b.runAtMs;
  return a.seq < b.seq;
}

export function createDueHeap(): DeliveryHeap {
  return new BinaryHeap(dueFirst);
}

export function createDelayedHeap(): DeliveryHeap {
  return new BinaryHeap(earliestFirst);
}
