import { describe, expect, it } from 'vitest';
import { planConsumers } from '../../src/worker/worker-queues.js';

describe('planConsumers', () => {
  it('puts the queues without slots of their own on one shared consumer', () => {
    expect(planConsumers([{ name: 'default' }, { name: 'emails' }], 10)).toEqual([{ queues: ['default', 'emails'], concurrency: 10 }]);
  });

  it('gives each queue with slots of its own a consumer of its own, after the shared one', () => {
    expect(planConsumers([{ name: 'images', concurrency: 2 }, { name: 'default' }, { name: 'reports', concurrency: 1 }], 8)).toEqual([
      { queues: ['default'], concurrency: 8 },
      { queues: ['images'], concurrency: 2 },
      { queues: ['reports'], concurrency: 1 },
    ]);
  });

  it('has no shared consumer when every queue has its own slots, and none at all for no queues', () => {
    expect(planConsumers([{ name: 'images', concurrency: 3 }], 10)).toEqual([{ queues: ['images'], concurrency: 3 }]);
    expect(planConsumers([], 10)).toEqual([]);
  });
});
