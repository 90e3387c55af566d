import { sql } from 'kysely';
import type { Delivery } from '../../queue-adapter.js';
import type { Db } from '../../../src/store/database.js';

/**
 * Inserts deliveries and wakes the consumers of their queues, in one statement: the rows travel
 * as one JSON parameter (a 10,000-task job is one bound value, not 50,000), `on conflict do
 * nothing` makes a pending delivery enqueued again a no-op, and `pg_notify` runs once per queue
 * that got a new row. Inside the store's transaction both the rows and the NOTIFY wait for
 * its commit, so a consumer never wakes for a delivery whose task it cannot see yet.
 */
export async function enqueueDeliveries(executor: Db, deliveries: readonly Delivery[], channel: string): Promise<void> {
  const rows = deliveries.map((d) => ({
    task_id: d.taskId,
    attempt: d.attempt,
    queue: d.queue,
    priority: d.priority,
    run_at: d.runAt.toISOString(),
  }));
  await sql`
    with input as (
      select * from rows from (
        jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
          as (task_id uuid, attempt integer, queue text, priority smallint, run_at timestamptz)
      ) with ordinality as d(task_id, attempt, queue, priority, run_at, n)
    ), inserted as (
      insert into queue_deliveries (task_id, attempt, queue, priority, run_at)
      select task_id, attempt, queue, priority, run_at from input order by n
      on conflict do nothing
      returning queue
    )
    select pg_notify(${channel}, queue) from (select distinct queue from inserted) as woken`.execute(executor);
}
