import { describe, expect, it } from 'vitest';
import { deliveryId } from '../../adapters/queue-adapter.js';
import type { Delivery } from '../../adapters/queue-adapter.js';
import type { ContractContext } from './contract-context.js';
import { createRecorder, makeDeliveries, sleep, uniqueQueue, waitFor } from './contract-helpers.js';
import type { Recorder } from './contract-helpers.js';

export function concurrencyContract(ctx: ContractContext): void {
  describe('concurrency', () => {
    it('never has more than `concurrency` deliveries in handle for one consumer', async () => {
      const queue = uniqueQueue('conc');
      const deliveries = makeDeliveries(queue, 15);
      await ctx.adapter.enqueue({ deliveries });
      const recorder = createRecorder({ holdMs: 60 });
      ctx.adapter.consume({ queues: [queue], concurrency: 3, handle: recorder.handle });

      await waitFor(() => recorder.finished.length >= deliveries.length, 'all 15 handled', ctx.timeoutMs);
      expect(recorder.maxInFlight).toBeLessThanOrEqual(3);
      expect(recorder.maxInFlight).toBeGreaterThanOrEqual(2); // the slots are actually used
    });

    it('runs one delivery at a time with concurrency 1', async () => {
      const queue = uniqueQueue('conc1');
      const deliveries = makeDeliveries(queue, 6);
      const recorder = createRecorder({ holdMs: 20 });
      ctx.adapter.consume({ queues: [queue], concurrency: 1, handle: recorder.handle });
      await ctx.adapter.enqueue({ deliveries });

      await waitFor(() => recorder.finished.length >= deliveries.length, 'all 6 handled', ctx.timeoutMs);
      expect(recorder.maxInFlight).toBe(1);
    });

    it('shares one queue between consumers, never handing a delivery to two at once', async () => {
      const queue = uniqueQueue('share');
      const deliveries = makeDeliveries(queue, 24);
      const holders = new Map<string, number>(); // delivery id -> consumer now handling it
      const overlaps: string[] = [];
      const recorders: Recorder[] = [];
      for (let index = 0; index < 3; index++) {
        const recorder = createRecorder({ holdMs: 50 });
        recorders.push(recorder);
        const handle = async (delivery: Delivery): Promise<void> => {
          const id = deliveryId(delivery);
          const holder = holders.get(id);
          if (holder !== undefined) overlaps.push(`${id} held by consumers ${holder} and ${index}`);
          holders.set(id, index);
          try {
            await recorder.handle(delivery);
          } finally {
            if (holders.get(id) === index) holders.delete(id);
          }
        };
        ctx.adapter.consume({ queues: [queue], concurrency: 2, handle });
      }
      await sleep(50); // let every consumer get ready before work arrives
      await ctx.adapter.enqueue({ deliveries });

      await waitFor(() => recorders.every((r) => r.inFlight === 0) && allHandled(recorders, deliveries), 'all 24 handled', ctx.timeoutMs);
      expect(overlaps).toEqual([]);
      for (const recorder of recorders) expect(recorder.maxInFlight).toBeLessThanOrEqual(2);
      expect(recorders.filter((r) => r.handled.length > 0).length).toBeGreaterThanOrEqual(2);
    });
  });
}

function allHandled(recorders: readonly Recorder[], deliveries: readonly Delivery[]): boolean {
  return deliveries.every((delivery) => recorders.some((r) => r.count(deliveryId(delivery)) > 0));
}
