import type { JobEventRecord } from '../store/records.js';
import type { EventBus } from './event-bus.js';

/** The event bus of one process: enough when the API and the worker share it. */
export function createLocalEventBus(): EventBus {
  const byJob = new Map<string, Set<(event: JobEventRecord) => void>>();
  const cancelListeners = new Set<(taskId: string) => void>();

  return {
    publish(events) {
      for (const event of events) {
        const listeners = byJob.get(event.jobId);
        if (!listeners) continue;
        for (const listener of [...listeners]) listener(event);
      }
    },
    subscribe(jobId, listener) {
      let listeners = byJob.get(jobId);
      if (!listeners) byJob.set(jobId, (listeners = new Set()));
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) byJob.delete(jobId);
      };
    },
    requestCancel(taskIds) {
      for (const taskId of taskIds) for (const listener of [...cancelListeners]) listener(taskId);
    },
    onCancelRequested(listener) {
      cancelListeners.add(listener);
      return () => cancelListeners.delete(listener);
    },
    async close() {
      byJob.clear();
      cancelListeners.clear();
    },
  };
}
