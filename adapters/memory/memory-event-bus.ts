import { toError } from '../../src/errors/to-error.js';
import type { EventBus } from '../event-bus.js';
import { createListenerRegistry } from '../bus/listener-registry.js';

export interface LocalEventBusOptions {
  /** Gets what a listener throws. Without it, the error reaches the publisher, as before. */
  readonly onError?: (error: Error) => void;
}

/** The event bus of one process: enough when the API and the worker share it. */
export function createLocalEventBus(options: LocalEventBusOptions = {}): EventBus {
  const { onError } = options;
  const listeners = createListenerRegistry((error) => {
    if (!onError) throw error;
    onError(toError(error));
  });

  return {
    publish: (events) => listeners.deliverEvents(events),
    publishSent: (events) => listeners.deliverEvents(events),
    subscribe: (jobId, listener) => listeners.subscribe(jobId, listener),
    requestCancel: (taskIds) => listeners.deliverCancel(taskIds),
    onCancelRequested: (listener) => listeners.onCancelRequested(listener),
    async close() {
      listeners.clear();
    },
  };
}
