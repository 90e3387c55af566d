import { describe, expect, it } from 'vitest';
import { WriteBatcher } from '../../src/worker/write-batcher.js';

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('WriteBatcher', () => {
  it('writes the calls of one tick as one batch, and answers each call with its own output', async () => {
    const batches: number[][] = [];
    const batcher = new WriteBatcher<number, string>(async (items) => {
      batches.push(items);
      return items.map((n) => `#${n}`);
    }, { maxBatch: 10, maxInFlight: 1 });
    const answers = await Promise.all([1, 2, 3].map((n) => batcher.add(n)));
    expect(answers).toEqual(['#1', '#2', '#3']);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('holds calls made while a write runs for the next batch, so batches grow under load', async () => {
    const batches: number[][] = [];
    const gate = deferred<void>();
    const batcher = new WriteBatcher<number, number>(async (items) => {
      batches.push(items);
      if (batches.length === 1) await gate.promise;
      return items;
    }, { maxBatch: 100, maxInFlight: 1 });
    const first = batcher.add(0);
    await new Promise((resolve) => setImmediate(resolve));
    const more = [1, 2, 3, 4].map((n) => batcher.add(n));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(batches).toEqual([[0]]);
    gate.resolve();
    await Promise.all([first, ...more]);
    expect(batches).toEqual([[0], [1, 2, 3, 4]]);
  });

  it('splits at maxBatch and runs up to maxInFlight writes at once', async () => {
    let running = 0;
    let most = 0;
    const sizes: number[] = [];
    const batcher = new WriteBatcher<number, number>(async (items) => {
      running += 1;
      most = Math.max(most, running);
      sizes.push(items.length);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running -= 1;
      return items;
    }, { maxBatch: 3, maxInFlight: 2 });
    await Promise.all(Array.from({ length: 10 }, (_, n) => batcher.add(n)));
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(10);
    expect(Math.max(...sizes)).toBe(3);
    expect(most).toBe(2);
  });

  it('rejects every call of a batch whose write fails, and goes on with the next', async () => {
    let calls = 0;
    const batcher = new WriteBatcher<number, number>(async (items) => {
      calls += 1;
      if (calls === 1) throw new Error('database away');
      return items;
    }, { maxBatch: 10, maxInFlight: 1 });
    const failed = [batcher.add(1), batcher.add(2)];
    await expect(Promise.all(failed)).rejects.toThrow('database away');
    await expect(failed[1]).rejects.toThrow('database away');
    await expect(batcher.add(3)).resolves.toBe(3);
  });

  it('rejects when a write answers the wrong number of outputs', async () => {
    const batcher = new WriteBatcher<number, number>(async () => [], { maxBatch: 10, maxInFlight: 1 });
    await expect(batcher.add(1)).rejects.toThrow(/answered 0 outputs for 1 items/);
  });
});
