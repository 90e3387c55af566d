import type { Logger } from 'pino';
import type { EventBus } from '../../adapters/event-bus.js';
import type { JobEvent } from '../domain/job-event.js';
import { isFinishedJobStatus, TASK_STATUSES } from '../domain/state-machine.js';

/**
 * The bus, with one `info` line for each job this process finishes: its status and, when the same
 * write rolled up its progress, how many of its tasks ended how. Read from the events the process
 * publishes anyway, so it costs no statement.
 */
export function withJobOutcomeLog(bus: EventBus, logger: Logger): EventBus {
  const logFinished = (events: readonly JobEvent[]): void => {
    for (const event of events) {
      const status = event.type === 'JOB_STATUS_CHANGED' ? event.data.jobStatus : undefined;
      if (status === undefined || !isFinishedJobStatus(status)) continue;
      const rolledUp = events.findLast((other) => other.jobId === event.jobId && other.type === 'JOB_PROGRESS' && other.seq < event.seq);
      const counts = rolledUp?.data.jobProgress?.counts;
      const tasks = counts ? Object.fromEntries(TASK_STATUSES.filter((name) => counts[name] > 0).map((name) => [name, counts[name]])) : undefined;
      logger.info({ jobId: event.jobId, status, ...(tasks ? { tasks } : {}) }, `job ${status.toLowerCase().replace('_', ' ')}`);
    }
  };
  return {
    publish(events) {
      bus.publish(events);
      logFinished(events);
    },
    publishSent(events) {
      bus.publishSent(events);
      logFinished(events);
    },
    get statementNotify() {
      return bus.statementNotify;
    },
    get listening() {
      return bus.listening;
    },
    subscribe: (jobId, listener) => bus.subscribe(jobId, listener),
    requestCancel: (taskIds) => bus.requestCancel(taskIds),
    onCancelRequested: (listener) => bus.onCancelRequested(listener),
    close: () => bus.close(),
  };
}
