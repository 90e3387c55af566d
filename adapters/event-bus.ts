import type { JobEvent } from '../src/domain/job-event.js';

/**
 * What a statement that writes events needs to send them to other processes itself, as NOTIFYs
 * delivered at its commit: the bus's events channel, its origin (so that the bus drops the echo),
 * the payload limit past which an event travels as a reference, and the frame of an events
 * message (`head`, the events' JSON joined by commas, `tail`), so the statement writes the bus's
 * wire format without knowing it.
 */
export interface StatementNotify {
  readonly channel: string;
  readonly origin: string;
  readonly maxPayloadBytes: number;
  readonly head: string;
  readonly tail: string;
}

/**
 * Carries what just happened, after it committed, to whoever listens: subscriptions on the API
 * and cancellation requests to the worker that runs a task. It is fast, not durable: the event
 * log in the store is the truth, and a subscriber fills any gap from it by sequence number.
 */
export interface EventBus {
  /** Events must already be committed, in their per-job `seq` order. */
  publish(events: readonly JobEvent[]): void;
  /**
   * Set on a bus that other processes hear through the store's database (PostgreSQL NOTIFY): a
   * statement that writes events can then send them itself, saving the round trip of a NOTIFY
   * statement after it.
   */
  readonly statementNotify?: StatementNotify | undefined;
  /** Events the statement that wrote them sent with `statementNotify`: only this process's listeners get them here. */
  publishSent(events: readonly JobEvent[]): void;
  subscribe(jobId: string, listener: (event: JobEvent) => void): () => void;
  /** Asks whichever worker runs one of these tasks to abort it. */
  requestCancel(taskIds: readonly string[]): void;
  onCancelRequested(listener: (taskId: string) => void): () => void;
  /** Whether it hears the other processes now (false while its connection is down). */
  readonly listening: boolean;
  close(): Promise<void>;
}

/** What a statement wrote to the event log, each job's events in seq order. */
export interface WrittenEvents {
  /** For the bus to publish, now that they are committed. */
  readonly events: readonly JobEvent[];
  /** Those the statement sent to the other processes itself (`statementNotify`): for `publishSent`. */
  readonly sentEvents: readonly JobEvent[];
}

/** Committed events, to this process's listeners and, unless their statement sent them, to the others'. */
export function publishWritten(bus: EventBus, written: WrittenEvents): void {
  if (written.sentEvents.length > 0) bus.publishSent(written.sentEvents);
  if (written.events.length > 0) bus.publish(written.events);
}
