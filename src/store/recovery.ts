import { sql } from 'kysely';
import type { AttemptRef } from '../domain/attempt-ref.js';
import type { RetryPolicy } from '../domain/attempt-failure.js';
import type { Db } from './database.js';
import { notPaused } from './queue-controls.js';

/** The scans that keep the promise that nothing is lost when a process dies. */

/**
 * What decides where each of these attempts leaves its task if it fails (see `failureOutcome`),
 * for those still running: what the reaper needs, which knows the attempts by reference only.
 */
export async function retryPolicies(db: Db, refs: readonly AttemptRef[]): Promise<Map<string, RetryPolicy>> {
  if (refs.length === 0) return new Map();
  const { rows } = await sql<RetryPolicy & { id: string }>`
    select t.id, t.attempt, t.attempt_base, t.max_attempts, t.backoff from tasks t
    join unnest(${refs.map((ref) => ref.taskId)}::uuid[], ${refs.map((ref) => ref.attempt)}::int[]) as w(id, attempt) on w.id = t.id
    where t.status = 'RUNNING' and t.attempt = w.attempt`.execute(db);
  return new Map(rows.map(({ id, ...policy }) => [id, policy]));
}

/** Running attempts whose worker stopped renewing the lease: it died, or hangs. */
export async function findExpiredLeases(db: Db, params: { readonly now: Date; readonly limit: number }): Promise<AttemptRef[]> {
  const rows = await db
    .selectFrom('tasks')
    .select(['id', 'attempt'])
    .where('status', '=', 'RUNNING')
    .where('leaseExpiresAt', '<', params.now)
    .orderBy('leaseExpiresAt')
    .limit(params.limit)
    .execute();
  return rows.map((row) => ({ taskId: row.id, attempt: row.attempt }));
}

export interface WaitingTask {
  readonly id: string;
  readonly attempt: number;
  readonly queue: string;
  readonly priority: number;
  readonly runAt: Date;
}

/**
 * Waiting (QUEUED or SCHEDULED) tasks of some queues, in pages by id, for enqueueing their next
 * attempt again (a paused queue's wait for its resume); with `queuedBefore`, only those that have waited since before it (younger ones
 * were just enqueued).
 */
export async function findWaitingTasks(
  db: Db,
  params: {
    readonly queues: readonly string[];
    readonly afterId: string | null;
    readonly limit: number;
    readonly queuedBefore?: Date;
    /** Only tasks due before this instant. */
    readonly dueBefore?: Date;
  },
): Promise<WaitingTask[]> {
  if (params.queues.length === 0) return [];
  let query = db
    .selectFrom('tasks')
    .select(['id', 'attempt', 'queue', 'priority', 'runAt'])
    .where('status', 'in', ['QUEUED', 'SCHEDULED'])
    .where('queue', 'in', params.queues)
    .where(notPaused('tasks'))
    // A parked task waits for room on its key, without a delivery: it is woken, not reconciled.
    .where('parkedAt', 'is', null)
    .orderBy('id')
    .limit(params.limit);
  if (params.afterId) query = query.where('id', '>', params.afterId);
  if (params.queuedBefore) query = query.where('updatedAt', '<', params.queuedBefore);
  if (params.dueBefore) query = query.where('runAt', '<', params.dueBefore);
  return query.execute();
}
