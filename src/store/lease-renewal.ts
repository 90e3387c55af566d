import { PREPARED_MARK } from '../pg/pg-pool.js';
import type { AttemptRef } from '../domain/attempt-ref.js';

/**
 * Pushes the lease of every listed attempt this worker still holds; returns those it holds (one
 * missing was lost: reaped, cancelled, or ended elsewhere). Its tasks are locked in the order every
 * multi-task write locks them: an update that locked them in scan order deadlocked with a
 * completion batch over the same tasks. Plain text and values, without Kysely: the lease keeper's
 * thread runs it on a bare pg pool.
 */
const RENEW_LEASES = `${PREPARED_MARK}
  with locked as (
    select t.id from tasks t
    join unnest($1::uuid[], $2::int[]) as w(id, attempt) on w.id = t.id
    where t.status = 'RUNNING' and t.worker_id = $3 and t.attempt = w.attempt
    order by t.job_id, t.dependency_rank
    for update of t
  )
  update tasks set lease_expires_at = now() + $4 * interval '1 millisecond'
  from locked
  where tasks.id = locked.id
  returning tasks.id, tasks.attempt`;

/** A row the renewal returns: an attempt whose lease it pushed. */
export interface RenewedRow {
  readonly id: string;
  readonly attempt: number;
}

/** Runs one statement and resolves with its rows: a pg client's query, or Kysely's. */
export type RunStatement = (text: string, values: unknown[]) => Promise<readonly RenewedRow[]>;

export async function renewLeasesWith(
  run: RunStatement,
  params: { readonly workerId: string; readonly attempts: readonly AttemptRef[]; readonly leaseMs: number },
): Promise<AttemptRef[]> {
  if (params.attempts.length === 0) return [];
  const rows = await run(RENEW_LEASES, [params.attempts.map((a) => a.taskId), params.attempts.map((a) => a.attempt), params.workerId, params.leaseMs]);
  return rows.map((row) => ({ taskId: row.id, attempt: row.attempt }));
}
