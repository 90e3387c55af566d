import type { Delivery } from '../../adapters/queue-adapter.js';

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
