import { expect, it } from 'vitest';
import { createMemoryEventBus } from '../../adapters/memory/memory-event-bus.js';
import { describeEventBus } from './describe-event-bus.js';
import { progressData, syntheticEvents } from './event-fixtures.js';

describeEventBus('memory', {
  crossProcess: false,
  async openPair() {
    const errors: Error[] = [];
    const bus = createMemoryEventBus({ onError: (error) => errors.push(error) });
    return { a: bus, b: bus, channel: 'memory', errors, close: () => bus.close() };
  },
  events: async (progress) => syntheticEvents(progress),
});

it('local bus without onError: what a listener throws reaches the publisher', async () => {
  const bus = createMemoryEventBus();
  const events = syntheticEvents([progressData(1)]);
  bus.subscribe(events[0]!.jobId, () => {
    throw new Error('listener failed');
  });
  expect(() => bus.publish(events)).toThrow('listener failed');
  await bus.close();
});
