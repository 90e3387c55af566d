import { expect, it } from 'vitest';
import { createLocalEventBus } from '../../adapters/memory/memory-event-bus.js';
import { describeEventBus } from './describe-event-bus.js';
import { progressData, syntheticEvents } from './event-fixtures.js';

describeEventBus('local', {
  crossProcess: false,
  async openPair() {
    const errors: Error[] = [];
    const bus = createLocalEventBus({ onError: (error) => errors.push(error) });
    return { a: bus, b: bus, channel: 'local', errors, close: () => bus.close() };
  },
  events: async (progress) => syntheticEvents(progress),
});

it('local bus without onError: what a listener throws reaches the publisher', async () => {
  const bus = createLocalEventBus();
  const events = syntheticEvents([progressData(1)]);
  bus.subscribe(events[0]!.jobId, () => {
    throw new Error('listener failed');
  });
  expect(() => bus.publish(events)).toThrow('listener failed');
  await bus.close();
});
