import { describe, expect, it } from 'vitest';
import type { ContractContext } from './contract-context.js';
import { createRecorder, makeDeliveries, makeDelivery, sleep, track, uniqueQueue, waitFor } from './contract-helpers.js';

export function closeContract(ctx: ContractContext): void {
  describe('close', () => {
    it('stops every consumer and waits for their in-flight handles', async () => {
      const gate = ctx.gate();
      const recorders = [createRecorder({ gate }), createRecorder({ gate })];
      for (const [index, recorder] of recorders.entries()) {
        const queue = uniqueQueue(`close-${index}`);
        ctx.adapter.consume({ queues: [queue], concurrency: 2, handle: recorder.handle });
        await ctx.adapter.enqueue({ deliveries: makeDeliveries(queue, 1) });
      }
      await waitFor(() => recorders.every((r) => r.inFlight === 1), 'a delivery in each consumer', ctx.timeoutMs);

      const closed = ctx.close();
      const closeState = track(closed);
      await sleep(100);
      expect(closeState.settled).toBe(false);
      gate.open();
      await closed;
      for (const recorder of recorders) expect(recorder.finished).toHaveLength(1);
    });

    it('closes with idle consumers and deliveries still held', async () => {
      const queue = uniqueQueue('close-idle');
      ctx.adapter.consume({ queues: [queue], concurrency: 1, handle: createRecorder().handle });
      const runAt = new Date(Date.now() + 60_000);
      const pending = ctx.adapter.capabilities.delayedDelivery ? [makeDelivery(queue, { runAt })] : [];
      await ctx.adapter.enqueue({ deliveries: [...pending, ...makeDeliveries(uniqueQueue('unconsumed'), 2)] });
      await ctx.close();
    });

    it('rejects enqueue after close() with an Error', async () => {
      await ctx.close();
      await expect(ctx.adapter.enqueue({ deliveries: [makeDelivery(uniqueQueue('closed'))] })).rejects.toBeInstanceOf(Error);
    });

    it('resolves consumer.stop() called after close()', async () => {
      const consumer = ctx.adapter.consume({
        queues: [uniqueQueue('close-stop')],
        concurrency: 1,
        handle: createRecorder().handle,
      });
      await ctx.close();
      await consumer.stop();
    });
  });
}
