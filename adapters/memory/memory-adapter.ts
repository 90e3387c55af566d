import { assertValidDelivery, deliveryId } from '../queue-adapter.js';
import type { ConsumeParams, Consumer, Delivery, EnqueueParams, QueueAdapter } from '../queue-adapter.js';
import { createDelayedHeap, createDueHeap, dueFirst } from './delivery-heap.js';
import type { DeliveryHeap, HeldDelivery } from './delivery-heap.js';
import { MemoryConsumer } from './memory-consumer.js';
import { WakeTimer } from './wake-timer.js';

export interface MemoryAdapterOptions {
  /**
   * The longest the adapter sleeps before re-reading the clock while delayed deliveries are held,
   * so a wall-clock jump cannot hold them back for long. Enqueues wake consumers at once anyway.
   */
  readonly pollIntervalMs?: number;
}

const DEFAULT_POLL_INTERVAL_MS = 1_000;

/** In-process queues: for tests and single-process deployments; loses deliveries when the process dies. */
export function createMemoryAdapter(options: MemoryAdapterOptions = {}): QueueAdapter {
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  if (!(pollIntervalMs > 0)) throw new RangeError(`pollIntervalMs must be positive, got ${pollIntervalMs}`);

  const dueByQueue = new Map<string, DeliveryHeap>();
  const delayed = createDelayedHeap(); // every queue's future deliveries, so one timer serves all
  const held = new Set<string>(); // delivery ids pending or in flight, for dedupe
  const consumers: MemoryConsumer[] = [];
  const timer = new WakeTimer(dispatch, pollIntervalMs);
  let seq = 0;
  let rotation = 0;
  let closing: Promise<void> | undefined;

  function dueHeap(queue: string): DeliveryHeap {
    let heap = dueByQueue.get(queue);
    if (heap === undefined) {
      heap = createDueHeap();
      dueByQueue.set(queue, heap);
    }
    return heap;
  }

  function promoteDue(nowMs: number): void {
    for (let next = delayed.peek(); next !== undefined && next.runAtMs <= nowMs; next = delayed.peek()) {
      delayed.pop();
      dueHeap(next.delivery.queue).push(next);
    }
  }

  /** The best due delivery across `queues`, removed from its heap. */
  function take(queues: readonly string[]): Delivery | undefined {
    let best: { queue: string; heap: DeliveryHeap; top: HeldDelivery } | undefined;
    for (const queue of queues) {
      const heap = dueByQueue.get(queue);
      const top = heap?.peek();
      if (heap !== undefined && top !== undefined && (best === undefined || dueFirst(top, best.top))) {
        best = { queue, heap, top };
      }
    }
    if (best === undefined) return undefined;
    best.heap.pop();
    if (best.heap.size === 0) dueByQueue.delete(best.queue);
    return best.top.delivery;
  }

  /** Hands due deliveries to consumers with free slots, then re-arms the timer for the next one. */
  function dispatch(): void {
    if (closing !== undefined) return;
    promoteDue(Date.now());
    // One delivery per consumer per round, starting from a rotating consumer, so consumers share.
    const start = rotation++;
    for (let handedOut = true; handedOut; ) {
      handedOut = false;
      for (let i = 0; i < consumers.length; i++) {
        const consumer = consumers[(start + i) % consumers.length];
        if (consumer === undefined || !consumer.canTake) continue;
        const delivery = take(consumer.queues);
        if (delivery === undefined) continue;
        consumer.start(delivery);
        handedOut = true;
      }
    }
    const next = delayed.peek();
    if (next === undefined) timer.cancel();
    else timer.wakeBy(next.runAtMs);
  }

  function hold(delivery: Delivery, nowMs: number): void {
    const runAtMs = delivery.runAt.getTime();
    // A copy, so a caller mutating its Date or object cannot reorder the heaps.
    const copy: Delivery = {
      taskId: delivery.taskId,
      attempt: delivery.attempt,
      queue: delivery.queue,
      priority: delivery.priority,
      runAt: new Date(runAtMs),
    };
    const entry: HeldDelivery = { delivery: copy, runAtMs, seq: seq++ };
    if (runAtMs <= nowMs) dueHeap(copy.queue).push(entry);
    else delayed.push(entry);
  }

  const consumerHooks = {
    onSettled(delivery: Delivery, postponeUntil: Date | undefined): void {
      // A postponed delivery stays held (its id too), as if enqueued again for then.
      if (postponeUntil !== undefined && closing === undefined) hold({ ...delivery, runAt: postponeUntil }, Date.now());
      else held.delete(deliveryId(delivery));
      dispatch();
    },
    onStop(consumer: MemoryConsumer): void {
      const index = consumers.indexOf(consumer);
      if (index !== -1) consumers.splice(index, 1);
    },
  };

  return {
    name: 'memory',
    capabilities: { priority: 'exact', delayedDelivery: true, transactionalEnqueue: false, survivesConsumerDeath: false },

    async enqueue({ deliveries }: EnqueueParams): Promise<void> {
      if (closing !== undefined) throw new Error('memory queue adapter is closed: cannot enqueue');
      deliveries.forEach(assertValidDelivery);
      const nowMs = Date.now();
      for (const delivery of deliveries) {
        const id = deliveryId(delivery);
        if (held.has(id)) continue;
        held.add(id);
        hold(delivery, nowMs);
      }
      dispatch();
    },

    // It dies with its process, which takes every consumer with it: nothing to report.
    onDeliveriesLost: () => () => {},

    consume<T>(params: ConsumeParams<T>): Consumer {
      if (closing !== undefined) throw new Error('memory queue adapter is closed: cannot consume');
      const consumer = new MemoryConsumer(params, consumerHooks);
      consumers.push(consumer);
      dispatch();
      return consumer;
    },

    close(): Promise<void> {
      closing ??= (async () => {
        timer.cancel();
        await Promise.all([...consumers].map((consumer) => consumer.stop()));
        dueByQueue.clear();
        delayed.clear();
        held.clear();
      })();
      return closing;
    },
  };
}
