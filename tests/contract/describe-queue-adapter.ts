import { afterEach, beforeEach, describe } from 'vitest';
import type { QueueAdapter } from '../../adapters/queue-adapter.js';
import { closeContract } from './close.js';
import { concurrencyContract } from './concurrency.js';
import { consumerDeathContract } from './consumer-death.js';
import { createContractLifecycle } from './contract-context.js';
import type { ContractOptions } from './contract-context.js';
import { delayContract } from './delay.js';
import { enqueueAndDeliverContract } from './enqueue-and-deliver.js';
import { handlerErrorsContract } from './handler-errors.js';
import { priorityContract } from './priority.js';
import { stopContract } from './stop.js';

export type { ContractOptions } from './contract-context.js';

/**
 * The queue-adapter contract suite. It uses only the `QueueAdapter` interface, so every adapter
 * (memory, postgres, redis) runs the same tests; `makeAdapter` is called before each test and
 * the adapter is closed after it. Queue names are unique per test, so a shared server is fine.
 */
export function describeQueueAdapter(
  name: string,
  makeAdapter: () => Promise<QueueAdapter>,
  options: ContractOptions = {},
): void {
  describe(`queue adapter contract: ${name}`, () => {
    const lifecycle = createContractLifecycle(makeAdapter, options);
    beforeEach(() => lifecycle.setUp());
    afterEach(() => lifecycle.tearDown());

    const ctx = lifecycle.context;
    enqueueAndDeliverContract(ctx);
    concurrencyContract(ctx);
    priorityContract(ctx);
    delayContract(ctx);
    handlerErrorsContract(ctx);
    stopContract(ctx);
    closeContract(ctx);
    consumerDeathContract(ctx);
  });
}
