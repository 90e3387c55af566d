import type { JobEventRecord } from '../store/records.js';

/**
 * Carries what just happened, after it committed, to whoever listens: subscriptions on the API
 * and cancellation requests to the worker that runs a task. It is fast, not durable: the event
 * log in the store is the truth, and a subscriber fills any gap from it by sequence number.
 */
export interface EventBus {
  /** Events must already be committed, in their per-job `seq` order. */
  publish(events: readonly JobEventRecord[]): void;
  subscribe(jobId: string, listener: (event: JobEventRecord) => void): () => void;
  /** Asks whichever worker runs one of these tasks to abort it. */
  requestCancel(taskIds: readonly string[]): void;
  onCancelRequested(listener: (taskId: string) => void): () => void;
  close(): Promise<void>;
}
