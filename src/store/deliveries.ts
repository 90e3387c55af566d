import type { Delivery } from '../../adapters/queue-adapter.js';
import { isWaitingTaskStatus, type TaskStatus } from '../domain/state-machine.js';

/** What a delivery of a task's next attempt is made of. */
export interface DeliverableTask {
  readonly id: string;
  readonly status: TaskStatus;
  readonly attempt: number;
  readonly queue: string;
  readonly priority: number;
  readonly runAt: Date;
}

/** The delivery that asks for a waiting task's next attempt. */
export function nextAttemptDelivery(task: Omit<DeliverableTask, 'status'>): Delivery {
  return { taskId: task.id, attempt: task.attempt + 1, queue: task.queue, priority: task.priority, runAt: task.runAt };
}

/** The deliveries of those of these tasks that wait for one (QUEUED or SCHEDULED; not BLOCKED, not final). */
export function deliveriesOf(tasks: Iterable<DeliverableTask>): Delivery[] {
  const deliveries: Delivery[] = [];
  for (const task of tasks) if (isWaitingTaskStatus(task.status)) deliveries.push(nextAttemptDelivery(task));
  return deliveries;
}
