import { describe, expect, it } from 'vitest';
import type { TestContext } from 'vitest';
import type { Delivery } from '../../adapters/queue-adapter.js';
import { deliveryId } from '../../adapters/queue-adapter.js';
import type { ContractContext } from './contract-context.js';
import { createRecorder, makeDelivery, uniqueQueue, waitFor } from './contract-helpers.js';
import type { Recorder } from './contract-helpers.js';

const MAX_LATE_MS = 1_000;

function delayed(queue: string, inMs: number, priority = 5): Delivery {
  return makeDelivery(queue, { priority, runAt: new Date(Date.now() + inMs) });
}

function expectOnTime(recorder: Recorder, deliveries: readonly Delivery[]): void {
  for (const delivery of deliveries) {
    const handled = recorder.handled.find((h) => deliveryId(h.delivery) === deliveryId(delivery));
    const late = (handled?.startedAtMs ?? Number.NaN) - delivery.runAt.getTime();
    expect(late, `${deliveryId(delivery)} handled ${late} ms after runAt`).toBeGreaterThanOrEqual(0);
    expect(late, `${deliveryId(delivery)} handled ${late} ms after runAt`).toBeLessThan(MAX_LATE_MS);
  }
}

export function delayContract(ctx: ContractContext): void {
  describe('delayed delivery', () => {
    const skipUnlessDelayed = (skip: TestContext['skip']): void => {
      if (ctx.adapter.capabilities.delayedDelivery) return;
      console.info(`[contract:${ctx.adapter.name}] delay test skipped: the adapter declares no delayedDelivery`);
      skip('adapter declares no delayedDelivery');
    };

    it('never hands out a delivery before runAt, nor much after', async ({ skip }) => {
      skipUnlessDelayed(skip);
      const queue = uniqueQueue('delay');
      const recorder = createRecorder();
      ctx.adapter.consume({ queues: [queue], concurrency: 2, handle: recorder.handle });
      const now = makeDelivery(queue);
      const later = [delayed(queue, 300), delayed(queue, 200), delayed(queue, 250)];
      await ctx.adapter.enqueue({ deliveries: [now, ...later] });

      await waitFor(() => recorder.hasAll([now, ...later]), 'the four deliveries', ctx.timeoutMs);
      expectOnTime(recorder, later);
    });

    it('holds a delayed delivery enqueued before any consumer runs', async ({ skip }) => {
      skipUnlessDelayed(skip);
      const queue = uniqueQueue('delay-held');
      const later = delayed(queue, 250);
      await ctx.adapter.enqueue({ deliveries: [later] });
      const recorder = createRecorder();
      ctx.adapter.consume({ queues: [queue], concurrency: 1, handle: recorder.handle });

      await waitFor(() => recorder.hasAll([later]), 'the delayed delivery', ctx.timeoutMs);
      expectOnTime(recorder, [later]);
    });

    it('does not let a future high-priority delivery hold back a due one', async ({ skip }) => {
      skipUnlessDelayed(skip);
      const queue = uniqueQueue('delay-prio');
      const urgentLater = delayed(queue, 300, 10);
      const dueNow = makeDelivery(queue, { priority: 1 });
      await ctx.adapter.enqueue({ deliveries: [urgentLater, dueNow] });
      const recorder = createRecorder();
      ctx.adapter.consume({ queues: [queue], concurrency: 1, handle: recorder.handle });

      await waitFor(() => recorder.hasAll([urgentLater, dueNow]), 'both deliveries', ctx.timeoutMs);
      expect(recorder.handled.map(({ delivery }) => deliveryId(delivery))).toEqual([
        deliveryId(dueNow),
        deliveryId(urgentLater),
      ]);
      expectOnTime(recorder, [urgentLater]);
    });

    it('delivers a postponed delivery again at the instant its handle named, and once acknowledged never again', async ({ skip }) => {
      skipUnlessDelayed(skip);
      const queue = uniqueQueue('postpone');
      const delivery = makeDelivery(queue);
      const other = makeDelivery(queue);
      const starts: number[] = [];
      let until: Date | undefined;
      ctx.adapter.consume({
        queues: [queue],
        concurrency: 2,
        handle: async (taken) => {
          if (deliveryId(taken) !== deliveryId(delivery)) return;
          starts.push(Date.now());
          if (starts.length > 1) return;
          until = new Date(Date.now() + 300);
          return { postponeUntil: until };
        },
      });
      await ctx.adapter.enqueue({ deliveries: [delivery, other] });

      await waitFor(() => starts.length >= 2, 'the postponed delivery again', ctx.timeoutMs);
      const late = (starts[1] ?? Number.NaN) - (until?.getTime() ?? Number.NaN);
      expect(late, `handled again ${late} ms after the postponement's instant`).toBeGreaterThanOrEqual(0);
      expect(late).toBeLessThan(MAX_LATE_MS);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(starts).toHaveLength(2);
    });
  });
}
