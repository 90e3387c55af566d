import { describe, expect, it } from 'vitest';
import { deliveryId } from '../../adapters/queue-adapter.js';
import type { ContractContext } from './contract-context.js';
import { createRecorder, makeDeliveries, makeDelivery, sleep, uniqueQueue, waitFor } from './contract-helpers.js';

export function enqueueAndDeliverContract(ctx: ContractContext): void {
  describe('enqueue and deliver', () => {
    it('delivers every enqueued delivery at least once, fields intact', async () => {
      const queue = uniqueQueue('deliver');
      const before = Array.from({ length: 20 }, (_, i) =>
        makeDelivery(queue, { attempt: 1 + (i % 3), priority: 1 + (i % 10), runAt: new Date(Date.now() - i) }),
      );
      await ctx.adapter.enqueue({ deliveries: before });
      const recorder = createRecorder();
      ctx.adapter.consume({ queues: [queue], concurrency: 4, handle: recorder.handle });
      const after = makeDeliveries(queue, 20);
      await ctx.adapter.enqueue({ deliveries: after.slice(0, 10) });
      await ctx.adapter.enqueue({ deliveries: after.slice(10) });

      const all = [...before, ...after];
      await waitFor(() => recorder.hasAll(all), 'all 40 deliveries', ctx.timeoutMs);
      const byId = new Map(recorder.handled.map(({ delivery }) => [deliveryId(delivery), delivery]));
      for (const sent of all) {
        const got = byId.get(deliveryId(sent));
        expect(got).toMatchObject({
          taskId: sent.taskId,
          attempt: sent.attempt,
          queue: sent.queue,
          priority: sent.priority,
        });
        expect(got?.runAt.getTime()).toBe(sent.runAt.getTime());
      }
    });

    it('wakes an idle consumer when a delivery is enqueued', async () => {
      const queue = uniqueQueue('wake');
      const recorder = createRecorder();
      ctx.adapter.consume({ queues: [queue], concurrency: 1, handle: recorder.handle });
      await sleep(100);
      const delivery = makeDelivery(queue);
      await ctx.adapter.enqueue({ deliveries: [delivery] });
      await waitFor(() => recorder.hasAll([delivery]), 'the delivery', ctx.timeoutMs);
    });

    it('hands a consumer only deliveries of the queues it consumes', async () => {
      const [a, b, c] = [uniqueQueue('a'), uniqueQueue('b'), uniqueQueue('c')];
      const [forA, forB, forC] = [makeDeliveries(a, 3), makeDeliveries(b, 3), makeDeliveries(c, 3)];
      await ctx.adapter.enqueue({ deliveries: [...forA, ...forB, ...forC] });
      const onlyA = createRecorder();
      ctx.adapter.consume({ queues: [a], concurrency: 2, handle: onlyA.handle });
      const bAndC = createRecorder();
      ctx.adapter.consume({ queues: [b, c], concurrency: 2, handle: bAndC.handle });

      await waitFor(() => onlyA.hasAll(forA) && bAndC.hasAll([...forB, ...forC]), 'every queue', ctx.timeoutMs);
      await sleep(200);
      expect(onlyA.handled.every(({ delivery }) => delivery.queue === a)).toBe(true);
      expect(bAndC.handled.every(({ delivery }) => delivery.queue === b || delivery.queue === c)).toBe(true);
    });

    it('delivers a delivery enqueued twice while pending only once', async () => {
      const queue = uniqueQueue('dedupe');
      const twice = makeDelivery(queue);
      const nextAttempt = { ...twice, attempt: 2 }; // another delivery of the same task
      const other = makeDelivery(queue);
      await ctx.adapter.enqueue({ deliveries: [twice] });
      await ctx.adapter.enqueue({ deliveries: [twice, { ...twice }, other] });
      await ctx.adapter.enqueue({ deliveries: [nextAttempt] });
      const recorder = createRecorder();
      ctx.adapter.consume({ queues: [queue], concurrency: 2, handle: recorder.handle });

      await waitFor(() => recorder.hasAll([twice, nextAttempt, other]), 'the three deliveries', ctx.timeoutMs);
      await sleep(300); // room for a wrongly kept duplicate to show up
      expect(recorder.count(deliveryId(twice))).toBe(1);
      expect(recorder.count(deliveryId(nextAttempt))).toBe(1);
    });
  });
}
