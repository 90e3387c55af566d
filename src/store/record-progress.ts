import { sql } from 'kysely';
import type { StatementNotify } from '../../adapters/event-bus.js';
import type { AttemptRef } from '../domain/attempt-ref.js';
import type { JobEvent } from '../domain/job-event.js';
import { taskProgressUnits } from '../domain/progress-roll-up.js';
import type { TaskProgressValue } from '../domain/task-values.js';
import { PREPARED } from '../pg/prepared-statement.js';
import { toJson, type Db } from './database.js';
import { batchEvents, batchEventsColumn, jobBookkeepingCtes } from './job-bookkeeping.js';

/**
 * Stores the attempt's latest progress and its TASK_PROGRESS event (and JOB_PROGRESS when the
 * job's sum moved), fenced by task id and attempt, in one prepared, autocommitted statement with
 * the job's bookkeeping: every subscriber of the job waits for this write before it hears of the
 * report, so it is one round trip. Returns the events it wrote (none when fenced out).
 */
export async function recordProgress(
  db: Db,
  ref: AttemptRef & { readonly progress: TaskProgressValue },
  notify?: StatementNotify,
): Promise<JobEvent[]> {
  const now = new Date();
  const units = taskProgressUnits('RUNNING', ref.progress);
  const { rows } = await sql<{ batchEvents: unknown }>`${PREPARED}
    with locked as (
      select id, progress_units as previous_units from tasks
      where id = ${ref.taskId} and status = 'RUNNING' and attempt = ${ref.attempt}
      for update
    ), reported as (
      update tasks set progress = ${toJson(ref.progress)}::jsonb, progress_units = ${units}, updated_at = ${now}
      from locked
      where tasks.id = locked.id
      returning tasks.id, tasks.job_id, tasks.attempt, tasks.progress, tasks.progress_units, locked.previous_units
    ), changes as (
      select job_id, id as task_id, 0 as ord, 'RUNNING'::text as from_status, 'RUNNING'::text as to_status,
        (progress_units - previous_units)::int8 as units_delta, 'TASK_PROGRESS'::text as event_type,
        jsonb_build_object('attempt', attempt, 'progress', progress) as event_data
      from reported
    ), ${jobBookkeepingCtes(now)}
    select ${batchEventsColumn(notify)} from reported`.execute(db);
  return batchEvents(rows);
}
