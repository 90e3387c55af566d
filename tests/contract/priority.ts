import { describe, expect, it } from 'vitest';
import type { ContractContext } from './contract-context.js';
import { createRecorder, makeDelivery, uniqueQueue, waitFor } from './contract-helpers.js';

/** A fixed, shuffled mix of priorities 1–10 (each four times), so failures reproduce. */
function priorityMix(): number[] {
  const mix = Array.from({ length: 40 }, (_, i) => 1 + (i % 10));
  let seed = 12_345;
  for (let i = mix.length - 1; i > 0; i--) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = seed % (i + 1);
    [mix[i], mix[j]] = [mix[j] as number, mix[i] as number];
  }
  return mix;
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

export function priorityContract(ctx: ContractContext): void {
  describe('priority', () => {
    it('hands out higher priorities first, as exactly as the adapter declares', async ({ skip }) => {
      const declared = ctx.adapter.capabilities.priority;
      if (declared === 'none') {
        console.info(`[contract:${ctx.adapter.name}] priority test skipped: the adapter declares priority 'none'`);
        skip("adapter declares priority 'none'");
      }
      const queue = uniqueQueue('priority');
      const now = Date.now();
      // Due, with runAt older for lower indices: priority must win over runAt.
      const deliveries = priorityMix().map((priority, i) =>
        makeDelivery(queue, { priority, runAt: new Date(now - 5_000 + i * 100) }),
      );
      for (let i = 0; i < deliveries.length; i += 10) {
        await ctx.adapter.enqueue({ deliveries: deliveries.slice(i, i + 10) });
      }
      const recorder = createRecorder();
      ctx.adapter.consume({ queues: [queue], concurrency: 1, handle: recorder.handle });
      await waitFor(() => recorder.hasAll(deliveries), 'all 40 deliveries', ctx.timeoutMs);

      const order = recorder.handled.map(({ delivery }) => delivery.priority);
      if (declared === 'exact') {
        expect(order).toEqual([...order].sort((a, b) => b - a));
      } else {
        // 'approximate' promises only a bias: the first half is on average no less urgent.
        const half = Math.floor(order.length / 2);
        expect(mean(order.slice(0, half))).toBeGreaterThanOrEqual(mean(order.slice(half)));
      }
    });
  });
}
