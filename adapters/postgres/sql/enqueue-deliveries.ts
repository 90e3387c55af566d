import { sql, type RawBuilder } from 'kysely';
import type { Delivery } from '../../queue-adapter.js';
import type { QueryExecutorProvider } from 'kysely';

/**
 * Inserts deliveries and wakes the consumers of their queues, as the CTE `enqueued_deliveries`:
 * `enqueueDeliveries` runs it alone, and a submission puts it in the store's own statement
 * (`QueueAdapter.enqueueCte`). The rows travel as one JSON parameter (a 10,000-task job is one
 * bound value, not 50,000), `on conflict do nothing` makes a pending delivery enqueued again a
 * no-op, and every new row's `pg_notify` names its queue (PostgreSQL sends a transaction's
 * identical notifications once). The CTE modifies data, so it runs whether or not its statement
 * reads it; inside the store's transaction both the rows and the NOTIFY wait for its commit, so
 * a consumer never wakes for a delivery whose task it cannot see yet.
 */
export function enqueueDeliveriesCte(deliveries: readonly Delivery[], channel: string): RawBuilder<unknown> {
  const rows = deliveries.map((d) => ({
    task_id: d.taskId,
    attempt: d.attempt,
    queue: d.queue,
    priority: d.priority,
    run_at: d.runAt.toISOString(),
  }));
  return sql`enqueued_deliveries as (
      insert into queue_deliveries (task_id, attempt, queue, priority, run_at)
      select task_id, attempt, queue, priority, run_at from rows from (
        json_to_recordset(${JSON.stringify(rows)}::json)
          as (task_id uuid, attempt integer, queue text, priority smallint, run_at timestamptz)
      ) with ordinality as d(task_id, attempt, queue, priority, run_at, n)
      order by n
      on conflict do nothing
      returning pg_notify(${channel}, queue)
    )`;
}

export async function enqueueDeliveries(executor: QueryExecutorProvider, deliveries: readonly Delivery[], channel: string): Promise<void> {
  await sql`with ${enqueueDeliveriesCte(deliveries, channel)} select 1`.execute(executor);
}
