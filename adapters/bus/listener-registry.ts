import type { JobEvent } from '../../src/domain/job-event.js';

export type EventListener = (event: JobEvent) => void;
export type CancelListener = (taskId: string) => void;

/**
 * The listeners of one process, by job, and the fan-out every event bus delivers through.
 * `onListenerError` gets what a listener throws; whatever it throws in turn leaves the delivery
 * (the memory bus rethrows to the publisher, as a plain function call would).
 */
export class ListenerRegistry {
  readonly #byJob = new Map<string, Set<EventListener>>();
  readonly #cancelListeners = new Set<CancelListener>();

  constructor(private readonly onListenerError: (error: unknown) => void) {}

  subscribe(jobId: string, listener: EventListener): () => void {
    let listeners = this.#byJob.get(jobId);
    if (!listeners) this.#byJob.set(jobId, (listeners = new Set()));
    const own = listeners;
    own.add(listener);
    return () => {
      own.delete(listener);
      // A late second call must not drop a newer set of this job's listeners.
      if (own.size === 0 && this.#byJob.get(jobId) === own) this.#byJob.delete(jobId);
    };
  }

  onCancelRequested(listener: CancelListener): () => void {
    this.#cancelListeners.add(listener);
    return () => {
      this.#cancelListeners.delete(listener);
    };
  }

  hasSubscribers(jobId: string): boolean {
    return this.#byJob.has(jobId);
  }

  /** Whether any job has a listener here: a process with none has no use for others' events. */
  hasAnySubscribers(): boolean {
    return this.#byJob.size > 0;
  }

  deliverEvents(events: readonly JobEvent[]): void {
    for (const event of events) {
      const listeners = this.#byJob.get(event.jobId);
      if (!listeners) continue;
      // A copy: a listener may unsubscribe (or subscribe others) while it runs.
      for (const listener of [...listeners]) this.#call(listener, event);
    }
  }

  deliverCancel(taskIds: readonly string[]): void {
    for (const taskId of taskIds) for (const listener of [...this.#cancelListeners]) this.#call(listener, taskId);
  }

  clear(): void {
    this.#byJob.clear();
    this.#cancelListeners.clear();
  }

  #call<T>(listener: (value: T) => void, value: T): void {
    try {
      listener(value);
    } catch (error) {
      this.onListenerError(error);
    }
  }
}
