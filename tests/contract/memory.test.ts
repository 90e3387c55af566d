import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryAdapter } from '../../adapters/memory/memory-adapter.js';
import { deliveryId } from '../../adapters/queue-adapter.js';
import type { QueueAdapter } from '../../adapters/queue-adapter.js';
import { createGate, createRecorder, makeDelivery, sleep, uniqueQueue, waitFor } from './contract-helpers.js';
import { describeQueueAdapter } from './describe-queue-adapter.js';

describeQueueAdapter('memory', async () => createMemoryAdapter());

// What the memory adapter promises beyond the shared contract.
describe('memory adapter specifics', () => {
  let adapter: QueueAdapter;
  beforeEach(() => {
    adapter = createMemoryAdapter();
  });
  afterEach(() => adapter.close());

  it('orders due deliveries by priority, then runAt, then enqueue order', async () => {
    const queue = uniqueQueue('order');
    const t = Date.now() - 10_000;
    const at = (ms: number): Date => new Date(t + ms);
    const deliveries = [
      makeDelivery(queue, { taskId: 'low-late', priority: 1, runAt: at(500) }),
      makeDelivery(queue, { taskId: 'high-late', priority: 9, runAt: at(500) }),
      makeDelivery(queue, { taskId: 'high-early-second', priority: 9, runAt: at(100) }),
      makeDelivery(queue, { taskId: 'low-early', priority: 1, runAt: at(100) }),
      makeDelivery(queue, { taskId: 'high-early-first', priority: 9, runAt: at(100) }),
    ];
    // Enqueue order among equals is what FIFO is about: put "first" ahead of "second".
    await adapter.enqueue({ deliveries: [deliveries[4]!, ...deliveries.slice(0, 4)] });
    const recorder = createRecorder();
    adapter.consume({ queues: [queue], concurrency: 1, handle: recorder.handle });
    await waitFor(() => recorder.handled.length === 5, 'five deliveries', 5_000);
    expect(recorder.handled.map(({ delivery }) => delivery.taskId)).toEqual([
      'high-early-first',
      'high-early-second',
      'high-late',
      'low-early',
      'low-late',
    ]);
  });

  it('ignores a delivery re-enqueued while in flight and forgets it once acknowledged', async () => {
    const queue = uniqueQueue('inflight');
    const delivery = makeDelivery(queue);
    const gate = createGate();
    const recorder = createRecorder({ gate });
    adapter.consume({ queues: [queue], concurrency: 2, handle: recorder.handle });
    await adapter.enqueue({ deliveries: [delivery] });
    await waitFor(() => recorder.inFlight === 1, 'the delivery in handle', 5_000);
    await adapter.enqueue({ deliveries: [delivery] });
    gate.open();
    await waitFor(() => recorder.finished.length === 1, 'the delivery acknowledged', 5_000);
    await sleep(50);
    expect(recorder.count(deliveryId(delivery))).toBe(1);

    await adapter.enqueue({ deliveries: [delivery] });
    await waitFor(() => recorder.count(deliveryId(delivery)) === 2, 'the delivery again', 5_000);
  });

  it('enqueues 10,000 deliveries cheaply and hands them out in priority order', async () => {
    const queue = uniqueQueue('bulk');
    const deliveries = Array.from({ length: 10_000 }, (_, i) =>
      makeDelivery(queue, { priority: 1 + ((i * 7) % 10), runAt: new Date(Date.now() - 1_000) }),
    );
    const started = Date.now();
    await adapter.enqueue({ deliveries });
    const priorities: number[] = [];
    adapter.consume({
      queues: [queue],
      concurrency: 1,
      handle: async (delivery) => {
        priorities.push(delivery.priority);
      },
    });
    await waitFor(() => priorities.length === 10_000, '10,000 deliveries', 10_000);
    // Loose on purpose (busy 2-core machine); a sort on every take needs far longer.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(priorities).toEqual([...priorities].sort((a, b) => b - a));
  });

  it('holds a delivery due beyond setTimeout range without firing early or warning', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning.name);
    };
    process.on('warning', onWarning);
    try {
      await adapter.close();
      adapter = createMemoryAdapter({ pollIntervalMs: Number.MAX_SAFE_INTEGER });
      const queue = uniqueQueue('far');
      const recorder = createRecorder();
      adapter.consume({ queues: [queue], concurrency: 1, handle: recorder.handle });
      await adapter.enqueue({ deliveries: [makeDelivery(queue, { runAt: new Date(Date.now() + 40 * 86_400_000) })] });
      await sleep(150);
      expect(recorder.handled).toHaveLength(0);
      expect(warnings).not.toContain('TimeoutOverflowWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('leaves no timer running after close()', async () => {
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    await adapter.close();
    const before = timers();
    adapter = createMemoryAdapter();
    const queue = uniqueQueue('leak');
    adapter.consume({ queues: [queue], concurrency: 1, handle: createRecorder().handle });
    await adapter.enqueue({ deliveries: [makeDelivery(queue, { runAt: new Date(Date.now() + 60_000) })] });
    expect(timers()).toBe(before + 1);
    await adapter.close();
    expect(timers()).toBe(before);
  });

  it('rejects enqueue and consume after close() with a clear Error', async () => {
    await adapter.close();
    await expect(adapter.enqueue({ deliveries: [makeDelivery('q')] })).rejects.toThrow(/closed/);
    expect(() => adapter.consume({ queues: ['q'], concurrency: 1, handle: async () => {} })).toThrow(/closed/);
  });

  it('rejects an invalid concurrency or runAt', async () => {
    expect(() => adapter.consume({ queues: ['q'], concurrency: 0, handle: async () => {} })).toThrow(RangeError);
    await expect(
      adapter.enqueue({ deliveries: [makeDelivery('q', { runAt: new Date(Number.NaN) })] }),
    ).rejects.toThrow(TypeError);
  });
});
