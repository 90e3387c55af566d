import type { JobEvent } from '../../src/domain/job-event.js';

export type EventListener = (event: JobEvent) => void;
export type CancelListener = (taskId: string) => void;

/** The listeners of one process, by job, and the fan-out every event bus delivers through. */
export interface ListenerRegistry {
  subscribe(jobId: string, listener: EventListener): () => void;
  onCancelRequested(listener: CancelListener): () => void;
  hasSubscribers(jobId: string): boolean;
  /** Whether any job has a listener here: a process with none has no use for others' events. */
  hasAnySubscribers(): boolean;
  deliverEvents(events: readonly JobEvent[]): void;
  deliverCancel(taskIds: readonly string[]): void;
  clear(): void;
}

/**
 * `onListenerError` gets what a listener throws; whatever it throws in turn leaves the delivery
 * (the local bus rethrows to the publisher, as a plain function call would).
 */
export function createListenerRegistry(onListenerError: (error: unknown) => void): ListenerRegistry {
  const byJob = new Map<string, Set<EventListener>>();
  const cancelListeners = new Set<CancelListener>();

  const call = <T>(listener: (value: T) => void, value: T): void => {
    try {
      listener(value);
    } catch (error) {
      onListenerError(error);
    }
  };

  return {
    subscribe(jobId, listener) {
      let listeners = byJob.get(jobId);
      if (!listeners) byJob.set(jobId, (listeners = new Set()));
      const own = listeners;
      own.add(listener);
      return () => {
        own.delete(listener);
        // A late second call must not drop a newer set of this job's listeners.
        if (own.size === 0 && byJob.get(jobId) === own) byJob.delete(jobId);
      };
    },
    onCancelRequested(listener) {
      cancelListeners.add(listener);
      return () => {
        cancelListeners.delete(listener);
      };
    },
    hasSubscribers(jobId) {
      return byJob.has(jobId);
    },
    hasAnySubscribers() {
      return byJob.size > 0;
    },
    deliverEvents(events) {
      for (const event of events) {
        const listeners = byJob.get(event.jobId);
        if (!listeners) continue;
        // A copy: a listener may unsubscribe (or subscribe others) while it runs.
        for (const listener of [...listeners]) call(listener, event);
      }
    },
    deliverCancel(taskIds) {
      for (const taskId of taskIds) for (const listener of [...cancelListeners]) call(listener, taskId);
    },
    clear() {
      byJob.clear();
      cancelListeners.clear();
    },
  };
}
