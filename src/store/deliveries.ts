import type { Delivery } from '../../adapters/queue-adapter.js';
import { isWaitingTaskStatus } from '../domain/state-machine.js';
import type { TaskRecord } from './records.js';

/** The delivery that asks for a waiting task's next attempt. */
export function nextAttemptDelivery(task: {
  readonly id: string;
  readonly attempt: number;
  readonly queue: string;
  readonly priority: number;
  readonly runAt: Date;
}): Delivery {
  return { taskId: task.id, attempt: task.attempt + 1, queue: task.queue, priority: task.priority, runAt: task.runAt };
}

/**
 * What an attempt's end leaves to deliver: the task's next attempt, if it goes round again, and
 * the dependants it released. A completion gives no task: a SUCCEEDED task never goes round.
 */
export function deliveriesAfter(end: { readonly task?: TaskRecord; readonly released: readonly TaskRecord[] }): Delivery[] {
  const waiting = end.task && isWaitingTaskStatus(end.task.status) ? [end.task] : [];
  return [...waiting, ...end.released].map(nextAttemptDelivery);
}
