import { describe, expect, it } from 'vitest';
import { deliveryId } from '../../adapters/queue-adapter.js';
import type { ContractContext } from './contract-context.js';
import { createRecorder, makeDeliveries, sleep, uniqueQueue, waitFor } from './contract-helpers.js';

export function consumerDeathContract(ctx: ContractContext): void {
  describe('consumer death', () => {
    it('hands what a dead consumer held, and what it never took, to a live one', async ({ skip }) => {
      if (!ctx.adapter.capabilities.survivesConsumerDeath) {
        console.info(
          `[contract:${ctx.adapter.name}] consumer-death test skipped: the adapter dies with its process; the store's reconciler enqueues again`,
        );
        skip('adapter declares survivesConsumerDeath false');
      }
      const queue = uniqueQueue('death');
      const deliveries = makeDeliveries(queue, 5);
      const doomed = createRecorder({ gate: ctx.gate() }); // its handles never settle before the crash
      ctx.adapter.consume({ queues: [queue], concurrency: 2, handle: doomed.handle });
      await ctx.adapter.enqueue({ deliveries });
      await waitFor(() => doomed.inFlight === 2, 'two deliveries in the doomed consumer', ctx.timeoutMs);

      await ctx.crash();
      const survivor = createRecorder();
      (await ctx.anotherAdapter()).consume({ queues: [queue], concurrency: 5, handle: survivor.handle });

      await waitFor(() => survivor.hasAll(deliveries), 'every delivery, in the survivor', ctx.timeoutMs);
      await sleep(300); // room for a wrong second copy to show up
      for (const delivery of deliveries) expect(survivor.count(deliveryId(delivery)), deliveryId(delivery)).toBe(1);
    });
  });
}
