import type { StatementNotify, WrittenEvents } from '../../adapters/event-bus.js';
import type { TaskStatus } from '../domain/state-machine.js';
import { NotFoundError } from '../errors/index.js';
import { batchEvents, writtenEvents } from './job-bookkeeping.js';
import type { TaskRecord } from './records.js';

/**
 * A row of a command on one task (cancel, retry): `target.status as target_status` (the task as
 * locked), left-joined to the task as the command left it with its `previous_status`, and the
 * batch's events.
 */
export type OneTaskRow = TaskRecord & {
  readonly targetStatus: TaskStatus;
  readonly previousStatus: TaskStatus | null;
  readonly previousUnits: unknown;
  readonly batchEvents: unknown;
};

/**
 * The task as the command left it, with its events; NotFoundError when there is no such task,
 * and `refused(status)` when the command did not apply to it in the status it was in.
 */
export function oneTaskOutcome(
  rows: readonly OneTaskRow[],
  taskId: string,
  notify: StatementNotify | undefined,
  refused: (status: TaskStatus) => Error,
): WrittenEvents & { readonly task: TaskRecord } {
  const row = rows[0];
  if (!row) throw new NotFoundError('Task', taskId);
  const { targetStatus, previousStatus, previousUnits: _units, batchEvents: _events, ...task } = row;
  if (previousStatus === null) throw refused(targetStatus);
  return { task, ...writtenEvents(notify, batchEvents(rows)) };
}
