import { describe, expect, it } from 'vitest';
import { deliveryId } from '../../adapters/queue-adapter.js';
import type { Delivery } from '../../adapters/queue-adapter.js';
import type { ContractContext } from './contract-context.js';
import { createRecorder, makeDeliveries, sleep, uniqueQueue, waitFor } from './contract-helpers.js';

export function handlerErrorsContract(ctx: ContractContext): void {
  describe('handler errors', () => {
    it('keeps consuming after handlers throw or reject, and does not redeliver them', async () => {
      const queue = uniqueQueue('errors');
      const deliveries = makeDeliveries(queue, 9);
      const throws = new Set(deliveries.filter((_, i) => i % 3 === 0).map(deliveryId));
      const rejects = new Set(deliveries.filter((_, i) => i % 3 === 1).map(deliveryId));
      const recorder = createRecorder();
      // Not async on purpose: a synchronous throw must be contained too.
      const handle = (delivery: Delivery): Promise<void> => {
        const handled = recorder.handle(delivery);
        if (throws.has(deliveryId(delivery))) throw new Error('handler threw (expected by the test)');
        if (rejects.has(deliveryId(delivery))) return handled.then(() => Promise.reject(new Error('handler rejected (expected by the test)')));
        return handled;
      };
      ctx.adapter.consume({ queues: [queue], concurrency: 2, handle });
      await ctx.adapter.enqueue({ deliveries });
      await waitFor(() => recorder.hasAll(deliveries), 'the first 9 deliveries', ctx.timeoutMs);

      const afterFailures = makeDeliveries(queue, 3);
      await ctx.adapter.enqueue({ deliveries: afterFailures });
      await waitFor(() => recorder.hasAll(afterFailures), 'deliveries enqueued after the failures', ctx.timeoutMs);
      await sleep(300); // room for a wrong redelivery to show up
      for (const id of [...throws, ...rejects]) expect(recorder.count(id), id).toBe(1);
    });
  });
}
