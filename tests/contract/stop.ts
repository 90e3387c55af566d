import { describe, expect, it } from 'vitest';
import { deliveryId } from '../../adapters/queue-adapter.js';
import type { ContractContext } from './contract-context.js';
import { createRecorder, makeDeliveries, sleep, track, uniqueQueue, waitFor } from './contract-helpers.js';

export function stopContract(ctx: ContractContext): void {
  describe('consumer stop', () => {
    it('resolves stop() only once in-flight handles have settled', async () => {
      const queue = uniqueQueue('stop');
      const gate = ctx.gate();
      const recorder = createRecorder({ gate });
      const consumer = ctx.adapter.consume({ queues: [queue], concurrency: 2, handle: recorder.handle });
      await ctx.adapter.enqueue({ deliveries: makeDeliveries(queue, 2) });
      await waitFor(() => recorder.inFlight === 2, 'two deliveries in handle', ctx.timeoutMs);

      const stopped = consumer.stop();
      const stopState = track(stopped);
      await sleep(100);
      expect(stopState.settled).toBe(false);
      gate.open();
      await stopped;
      expect(recorder.finished).toHaveLength(2);
    });

    it('takes nothing after stop(), leaving pending deliveries to other consumers', async () => {
      const queue = uniqueQueue('stop-pending');
      const gate = ctx.gate();
      const first = createRecorder({ gate });
      const consumer = ctx.adapter.consume({ queues: [queue], concurrency: 1, handle: first.handle });
      const deliveries = makeDeliveries(queue, 3);
      await ctx.adapter.enqueue({ deliveries });
      await waitFor(() => first.inFlight === 1, 'one delivery in handle', ctx.timeoutMs);

      const stopped = consumer.stop();
      gate.open();
      await stopped;
      const late = makeDeliveries(queue, 1);
      await ctx.adapter.enqueue({ deliveries: late });
      await sleep(200);
      expect(first.handled).toHaveLength(1);

      const second = createRecorder();
      ctx.adapter.consume({ queues: [queue], concurrency: 2, handle: second.handle });
      const takenByFirst = new Set(first.handled.map(({ delivery }) => deliveryId(delivery)));
      const left = [...deliveries, ...late].filter((delivery) => !takenByFirst.has(deliveryId(delivery)));
      await waitFor(() => second.hasAll(left), 'the deliveries the stopped consumer left', ctx.timeoutMs);
      expect(first.handled).toHaveLength(1);
    });

    it('resolves stop() of an idle consumer', async () => {
      const consumer = ctx.adapter.consume({
        queues: [uniqueQueue('stop-idle')],
        concurrency: 3,
        handle: createRecorder().handle,
      });
      await sleep(50);
      await consumer.stop();
    });
  });
}
