import { describe, expect, it } from 'vitest';
import { BinaryHeap } from '../../adapters/memory/binary-heap.js';
import { createDelayedHeap, createDueHeap } from '../../adapters/memory/delivery-heap.js';
import type { HeldDelivery } from '../../adapters/memory/delivery-heap.js';

function held(seq: number, priority: number, runAtMs: number): HeldDelivery {
  return {
    delivery: { taskId: `t${seq}`, attempt: 1, queue: 'q', priority, runAt: new Date(runAtMs) },
    runAtMs,
    seq,
  };
}

function drain<T>(heap: BinaryHeap<T>): T[] {
  const out: T[] = [];
  for (let item = heap.pop(); item !== undefined; item = heap.pop()) out.push(item);
  return out;
}

/** Deterministic pseudo-random integers in [0, bound). */
function randoms(count: number, bound: number, seed = 42): number[] {
  let state = seed;
  return Array.from({ length: count }, () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state % bound;
  });
}

describe('BinaryHeap', () => {
  it('is empty to begin with', () => {
    const heap = new BinaryHeap<number>((a, b) => a < b);
    expect(heap.size).toBe(0);
    expect(heap.peek()).toBeUndefined();
    expect(heap.pop()).toBeUndefined();
  });

  it('pops in comparator order, duplicates included', () => {
    const values = randoms(1_000, 50);
    const heap = new BinaryHeap<number>((a, b) => a < b);
    for (const value of values) heap.push(value);
    expect(heap.size).toBe(1_000);
    expect(heap.peek()).toBe(Math.min(...values));
    expect(drain(heap)).toEqual([...values].sort((a, b) => a - b));
    expect(heap.size).toBe(0);
  });

  it('stays ordered when pushes and pops interleave', () => {
    const heap = new BinaryHeap<number>((a, b) => a > b);
    const mirror: number[] = [];
    for (const [i, value] of randoms(2_000, 100).entries()) {
      if (i % 3 === 2) {
        mirror.sort((a, b) => b - a);
        expect(heap.pop()).toBe(mirror.shift());
      } else {
        heap.push(value);
        mirror.push(value);
      }
    }
    expect(drain(heap)).toEqual(mirror.sort((a, b) => b - a));
  });

  it('clears', () => {
    const heap = new BinaryHeap<number>((a, b) => a < b);
    [3, 1, 2].forEach((value) => heap.push(value));
    heap.clear();
    expect(heap.size).toBe(0);
    expect(heap.pop()).toBeUndefined();
  });
});

describe('delivery heaps', () => {
  it('due heap: higher priority, then earlier runAt, then enqueue order', () => {
    const heap = createDueHeap();
    const items = [held(0, 1, 100), held(1, 9, 200), held(2, 9, 100), held(3, 1, 50), held(4, 9, 100), held(5, 5, 0)];
    for (const item of items) heap.push(item);
    expect(drain(heap).map((item) => item.seq)).toEqual([2, 4, 1, 5, 3, 0]);
  });

  it('delayed heap: earliest runAt, then enqueue order, whatever the priority', () => {
    const heap = createDelayedHeap();
    const items = [held(0, 1, 300), held(1, 10, 200), held(2, 3, 100), held(3, 7, 200)];
    for (const item of items) heap.push(item);
    expect(drain(heap).map((item) => item.seq)).toEqual([2, 1, 3, 0]);
  });

  it('orders 10,000 deliveries like a stable sort', () => {
    const priorities = randoms(10_000, 10, 7);
    const runAts = randoms(10_000, 1_000, 99);
    const items = priorities.map((priority, seq) => held(seq, priority + 1, runAts[seq] ?? 0));
    const heap = createDueHeap();
    for (const item of items) heap.push(item);
    const expected = [...items].sort(
      (a, b) => b.delivery.priority - a.delivery.priority || a.runAtMs - b.runAtMs || a.seq - b.seq,
    );
    expect(drain(heap).map((item) => item.seq)).toEqual(expected.map((item) => item.seq));
  });
});
