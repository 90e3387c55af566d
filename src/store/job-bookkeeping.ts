import { sql, type RawBuilder } from 'kysely';
import { JOB_STATUSES, isFinalJobStatus, TASK_STATUSES, type TaskStatus } from '../domain/state-machine.js';
import { jobStatusSql } from './job-status-sql.js';
import type { StatementNotify, WrittenEvents } from '../../adapters/event-bus.js';
import type { JobEvent } from '../domain/job-event.js';

/**
 * The job bookkeeping, as CTEs that end every statement which changes tasks: a claim, a
 * completion, a failure, a progress report, a cancel or a retry moves its jobs' counters and
 * progress, derives their status again and writes the events in the statement that changes the
 * tasks. It is the one place these rules are written.
 *
 * The statement before these CTEs defines `changes`, one row per task it changed:
 * `(job_id, task_id, ord, from_status, to_status, units_delta, event_type, event_data)`, where
 * `ord` orders a job's task events (the task's dependency rank) and `units_delta` is how far the
 * task moved its job's progress. From them: each job's counters and progress sum move, its
 * status is derived again (`jobStatusSql`), and its events are numbered after its last one: the
 * tasks' events in (`ord`, task id) order, then JOB_PROGRESS when its progress moved, then
 * JOB_STATUS_CHANGED when its status did (last, so that a subscriber that stops at a final status
 * has seen the final progress). They are written by the CTE `inserted_events`, which
 * `batchEventsColumn` reads.
 *
 * Lock order stays every writer's: `per_job` is an aggregate of `changes`, so every task row the
 * statement updates is updated (and locked) before the first job row is locked; the jobs are
 * then locked in id order. Locking re-reads a row another transaction committed meanwhile, and
 * the new counters are worked out from that row.
 */
export function jobBookkeepingCtes(now: Date): RawBuilder<unknown> {
  const countColumn = (status: TaskStatus): RawBuilder<number> => sql.raw(`${status.toLowerCase()}_count`);
  const delta = (status: TaskStatus): RawBuilder<number> => sql.raw(`d_${status.toLowerCase()}`);
  const each = (render: (status: TaskStatus) => RawBuilder<unknown>): RawBuilder<unknown> => sql.join(TASK_STATUSES.map(render));
  const finalStatuses = JOB_STATUSES.filter(isFinalJobStatus);
  return sql`
    per_job as materialized (
      select job_id, count(*)::int as task_events, sum(units_delta)::int8 as units_delta,
        ${each((s) => sql`(count(*) filter (where to_status = ${s}) - count(*) filter (where from_status = ${s}))::int as ${delta(s)}`)}
      from changes group by job_id
    ), job_locked as materialized (
      select * from jobs where id in (select job_id from per_job)
      order by id
      for no key update
    ), job_next as materialized (
      select l.id, l.status as old_status, l.event_seq as old_seq, l.finished_at as old_finished_at,
        p.task_events, p.units_delta, l.progress_units + p.units_delta as units,
        ${each((s) => sql`l.${countColumn(s)} + p.${delta(s)} as ${countColumn(s)}`)}
      from job_locked l join per_job p on p.job_id = l.id
    ), job_derived as materialized (
      select n.*, ${jobStatusSql((s) => sql`n.${countColumn(s)}`)} as status from job_next n
    ), job_written as (
      update jobs set
        ${each((s) => sql`${countColumn(s)} = d.${countColumn(s)}`)},
        progress_units = d.units, status = d.status,
        event_seq = d.old_seq + d.task_events + (d.units_delta <> 0)::int + (d.status <> d.old_status)::int,
        finished_at = case when d.status = d.old_status then d.old_finished_at
                           when d.status = any(${finalStatuses}::text[]) then ${now}::timestamptz else null end,
        updated_at = ${now}
      from job_derived d
      where jobs.id = d.id
    ), new_events as (
      select c.job_id, (d.old_seq + row_number() over (partition by c.job_id order by c.ord, c.task_id))::int as seq,
        c.task_id, c.event_type as type, c.event_data as data
      from changes c join job_derived d on d.id = c.job_id
      union all
      select id, old_seq + task_events + 1, null, 'JOB_PROGRESS',
        jsonb_build_object('jobProgress', jsonb_build_object('units', units, 'counts', jsonb_build_object(
          ${each((s) => sql`${s}::text, ${countColumn(s)}`)})))
      from job_derived where units_delta <> 0
      union all
      select id, old_seq + task_events + (units_delta <> 0)::int + 1, null, 'JOB_STATUS_CHANGED', jsonb_build_object('jobStatus', status)
      from job_derived where status <> old_status
    ), inserted_events as (
      insert into job_events (job_id, seq, task_id, type, data)
      select job_id, seq, task_id, type, data from new_events
      returning id, job_id, seq, task_id, type, at, data
    )`;
}

/** An `inserted_events` row as the JSON of a JobEvent (wire-format.ts reads the same shape). */
const eventJson = sql`json_build_object('id', id::text, 'jobId', job_id, 'seq', seq, 'taskId', task_id, 'type', type, 'at', at, 'data', data)`;

/**
 * The events a statement wrote (its CTE `inserted_events … returning id, job_id, seq, task_id,
 * type, at, data`), as JSON on its first row: a statement answers one kind of row (the
 * attempts it claimed or completed), and every row carrying them would repeat them. As json, not
 * jsonb: the text is only sent and parsed, and json_agg builds it about five times faster (10,000
 * events: 32 ms against 170).
 *
 * With `notify` (a bus's `statementNotify`) the statement also sends the events to the other
 * processes' buses, as NOTIFYs delivered when it commits: events messages of the bus's wire
 * format, in each job's seq order, as many events of at most PACKED_EVENT_BYTES each to a message
 * as fit whatever their sizes (15 under PostgreSQL's limit); a bigger event goes alone, or as a
 * reference to its row past the payload limit. Packed, not one NOTIFY per event: at concurrency
 * 50 a claim writes about 100 events, and a NOTIFY each cost the server as much as the statement
 * saved.
 */
export function batchEventsColumn(notify?: StatementNotify): RawBuilder<unknown> {
  if (!notify) return plainEventsColumn;
  // A bus's statementNotify is one object for its life: its column is built once, not per statement.
  let column = notifyingEventsColumns.get(notify);
  if (!column) {
    column = notifyingEventsColumn(notify);
    notifyingEventsColumns.set(notify, column);
  }
  return column;
}

const plainEventsColumn = sql`case when row_number() over () = 1 then (
    select json_agg(${eventJson} order by job_id, seq) from inserted_events
  ) end as batch_events`;

const notifyingEventsColumns = new WeakMap<StatementNotify, RawBuilder<unknown>>();

function notifyingEventsColumn(notify: StatementNotify): RawBuilder<unknown> {
  const { head, tail } = notify;
  const packed = Math.floor((notify.maxPayloadBytes - Buffer.byteLength(head) - Buffer.byteLength(tail)) / (PACKED_EVENT_BYTES + 1));
  // `runs` numbers the stretches between events that go alone; `messages` cuts each stretch into
  // messages of `packed` events. `sent` is read by the final select, so it runs, and its
  // pg_notify calls run in message order: a sorted subquery is never pulled up.
  return sql`case when row_number() over () = 1 then (
      with events as materialized (
        select job_id, seq, ${eventJson} as event from inserted_events
      ), ranked as (
        select job_id, seq, event, octet_length(event::text) > ${PACKED_EVENT_BYTES}::int as alone,
          row_number() over (order by job_id, seq) as pos
        from events
      ), runs as (
        select *, sum(alone::int) over (order by pos) as run from ranked
      ), cut as (
        select *, case when alone then 0 else (row_number() over (partition by run, alone order by pos) - 1) / ${packed}::int end as part
        from runs
      ), messages as (
        select min(pos) as first_pos, case
          when not alone then ${head}::text || string_agg(event::text, ',' order by pos) || ${tail}::text
          when octet_length(${head}::text || min(event::text) || ${tail}::text) <= ${notify.maxPayloadBytes}::int
            then ${head}::text || min(event::text) || ${tail}::text
          else ${head}::text || json_build_object('ref', json_build_object('jobId', (array_agg(job_id))[1], 'seq', min(seq)))::text || ${tail}::text
        end as message
        from cut group by run, alone, part
      ), sent as (
        select count(pg_notify(${notify.channel}::text, message)) as notifications
        from (select message from messages order by first_pos) m
      )
      select json_agg(event order by job_id, seq) from events where (select notifications from sent) >= 0
    ) end as batch_events`;
}

/** The largest event a message of a statement's own NOTIFY carries with others. */
const PACKED_EVENT_BYTES = 512;

interface EventJson {
  readonly id: string;
  readonly jobId: string;
  readonly seq: number;
  readonly taskId: string | null;
  readonly type: JobEvent['type'];
  readonly at: string;
  readonly data: JobEvent['data'];
}

/** The events `batchEventsColumn` brought back, each job's in seq order. */
export function batchEvents(rows: readonly { readonly batchEvents?: unknown }[]): JobEvent[] {
  const events = (rows.find((row) => row.batchEvents != null)?.batchEvents ?? []) as EventJson[];
  return events.map((event) => ({ ...event, at: new Date(event.at) }));
}

/** A statement's events, by who sends them: the statement itself (with `notify`), or the bus. */
export function writtenEvents(notify: StatementNotify | undefined, events: JobEvent[]): WrittenEvents {
  return notify ? { events: [], sentEvents: events } : { events, sentEvents: [] };
}
