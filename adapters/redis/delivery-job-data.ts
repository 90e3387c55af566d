import type { Delivery } from '../queue-adapter.js';

/** What a bee-queue job holds of its delivery (the job id is the delivery id). */
export interface DeliveryJobData {
  readonly taskId: string;
  readonly attempt: number;
  readonly queue: string;
  readonly priority: number;
  readonly runAtMs: number;
}

export function toJobData(delivery: Delivery): DeliveryJobData {
  return {
    taskId: delivery.taskId,
    attempt: delivery.attempt,
    queue: delivery.queue,
    priority: delivery.priority,
    runAtMs: delivery.runAt.getTime(),
  };
}

/** The delivery a job carries; a TypeError when the job was not written by this adapter. */
export function fromJobData(data: unknown): Delivery {
  const fields = (typeof data === 'object' && data !== null ? data : {}) as Partial<Record<keyof DeliveryJobData, unknown>>;
  const { taskId, attempt, queue, priority, runAtMs } = fields;
  if (
    typeof taskId !== 'string' ||
    typeof attempt !== 'number' ||
    typeof queue !== 'string' ||
    typeof priority !== 'number' ||
    typeof runAtMs !== 'number'
  ) {
    throw new TypeError(`not a jobql delivery: ${JSON.stringify(data)}`);
  }
  return { taskId, attempt, queue, priority, runAt: new Date(runAtMs) };
}
