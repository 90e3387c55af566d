import { sql } from 'kysely';
import type { Db } from './database.js';

/** Every tenant's tasks of one queue in one unfinished status, and for QUEUED the oldest due. */
export interface QueueDepth {
  readonly queue: string;
  /** PARKED: of the QUEUED ones, those parked until their concurrency key has room. */
  readonly status: 'QUEUED' | 'SCHEDULED' | 'RUNNING' | 'PARKED';
  readonly tasks: number;
  /** QUEUED only: the run time of its oldest due task. */
  readonly oldestDueAt: Date | null;
}

/**
 * The unfinished tasks (of every tenant, or of one) by queue and status, read from the partial
 * indexes of waiting, running and keyed tasks (`tasks_waiting`, `tasks_running_lease`,
 * `tasks_queued_key`): the cost follows the unfinished tasks, never the finished ones a long
 * retention keeps.
 */
export async function queueDepths(db: Db, scope: { readonly tenant?: string } = {}): Promise<QueueDepth[]> {
  const tenant = scope.tenant === undefined ? sql`` : sql`and tenant_id = ${scope.tenant}`;
  const { rows } = await sql<QueueDepth>`
    select queue, status, count(*)::int as tasks,
      min(run_at) filter (where status = 'QUEUED' and run_at <= now()) as oldest_due_at
    from tasks where status in ('QUEUED', 'SCHEDULED') ${tenant} group by queue, status
    union all
    select queue, 'RUNNING', count(*)::int, null from tasks where status = 'RUNNING' ${tenant} group by queue
    union all
    select queue, 'PARKED', count(*)::int, null from tasks
    where status = 'QUEUED' and concurrency_key is not null and parked_at is not null ${tenant} group by queue
    order by 1, 2`.execute(db);
  return rows;
}
