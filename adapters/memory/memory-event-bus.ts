import { toError } from '../../src/errors/to-error.js';
import type { EventBus } from '../event-bus.js';
import { ListenerRegistry } from '../bus/listener-registry.js';

export interface MemoryEventBusOptions {
  /** Gets what a listener throws. Without it, the error reaches the publisher. */
  readonly onError?: (error: Error) => void;
}

/** The event bus of one process: enough when the API and the worker share it. */
export function createMemoryEventBus(options: MemoryEventBusOptions = {}): EventBus {
  const { onError } = options;
  const listeners = new ListenerRegistry((error) => {
    if (!onError) throw error;
    onError(toError(error));
  });

  return {
    publish: (events) => listeners.deliverEvents(events),
    publishSent: (events) => listeners.deliverEvents(events),
    subscribe: (jobId, listener) => listeners.subscribe(jobId, listener),
    requestCancel: (taskIds) => listeners.deliverCancel(taskIds),
    onCancelRequested: (listener) => listeners.onCancelRequested(listener),
    listening: true,
    async close() {
      listeners.clear();
    },
  };
}
