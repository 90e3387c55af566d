import { sql } from 'kysely';
import { isFinalJobStatus, JOB_STATUSES } from '../domain/state-machine.js';
import type { Db } from './database.js';

/**
 * Removing finished jobs once their retention has passed: the job row, and with it (by cascade)
 * its tasks, their attempts and dependencies, and its events.
 *
 * One batch is one transaction:
 * 1. `pg_try_advisory_xact_lock` on a key of this deployment's schema: with any number of workers
 *    running the maintenance loop, one batch runs at a time and the others skip their turn at once;
 * 2. the oldest expired jobs, on the `jobs_finished` index, up to about `maxTasks` tasks in all (at
 *    least one job, however large), so that one batch stays short;
 * 3. their tasks are locked (in rank order, job by job) before the jobs, in the order every other
 *    writer takes them (tasks, then their job): a retry of an old task waits for the batch or the
 *    batch for it, never a deadlock; a job that such a retry made unfinished meanwhile is skipped;
 * 4. the delete re-checks that each job is still final and expired.
 * A lock timeout bounds the wait for a lock some request holds: the batch gives up and the next
 * tick tries again. Expired jobs are final, so claims, completions and progress never touch them:
 * the hot path does not wait for retention.
 */

export interface RetentionPolicy {
  /** How long a finished job is kept, unless its queue says otherwise. */
  readonly defaultMs: number;
  /** Per job queue (the job's own `queue`). */
  readonly byQueue: ReadonlyMap<string, number>;
}

export interface RetentionBatch {
  /** False when another process held the retention lock: nothing was done. */
  readonly ran: boolean;
  readonly jobs: number;
  readonly tasks: number;
}

const FINAL_JOB_STATUSES = JOB_STATUSES.filter(isFinalJobStatus);
const LOCK_TIMEOUT_MS = 2_000;

export async function deleteExpiredJobsBatch(
  db: Db,
  params: { readonly now: Date; readonly policy: RetentionPolicy; readonly maxTasks: number },
): Promise<RetentionBatch> {
  return db.transaction().execute(async (trx) => {
    const { rows: lock } = await sql<{ locked: boolean }>`
      select pg_try_advisory_xact_lock(hashtext('jobql.retention'), hashtext(current_schema())) as locked`.execute(trx);
    if (!lock[0]?.locked) return { ran: false, jobs: 0, tasks: 0 };
    await sql`set local lock_timeout = ${sql.lit(`${LOCK_TIMEOUT_MS}ms`)}`.execute(trx);

    const expired = expiryCondition(params.now, params.policy);
    const { rows: candidates } = await sql<{ id: string; taskCount: number }>`
      select id, task_count from (
        select id, task_count, sum(task_count) over (order by finished_at, id) as running
        from jobs
        where finished_at is not null and ${expired}
        order by finished_at, id
        limit 1000
      ) oldest
      where running <= ${params.maxTasks} or running = task_count`.execute(trx);
    if (candidates.length === 0) return { ran: true, jobs: 0, tasks: 0 };
    const ids = candidates.map((candidate) => candidate.id);

    await sql`
      select 1 from tasks where job_id = any(${ids}::uuid[])
      order by job_id, dependency_rank
      for update`.execute(trx);
    const deleted = await trx
      .deleteFrom('jobs')
      .where(sql<boolean>`id = any(${ids}::uuid[])`)
      .where('status', 'in', FINAL_JOB_STATUSES)
      .where(sql<boolean>`finished_at is not null and ${expired}`)
      .returning(['id', 'taskCount'])
      .execute();
    return { ran: true, jobs: deleted.length, tasks: deleted.reduce((sum, job) => sum + job.taskCount, 0) };
  });
}

/** `finished_at` is older than the retention of the job's queue. */
function expiryCondition(now: Date, policy: RetentionPolicy) {
  const cutoff = (ms: number): Date => new Date(now.getTime() - ms);
  const named = [...policy.byQueue.keys()];
  const perQueue = [...policy.byQueue].map(([queue, ms]) => sql`(queue = ${queue} and finished_at < ${cutoff(ms)})`);
  const rest = named.length > 0 ? sql`(queue <> all(${named}::text[]) and finished_at < ${cutoff(policy.defaultMs)})` : sql`finished_at < ${cutoff(policy.defaultMs)}`;
  return sql<boolean>`(${sql.join([...perQueue, rest], sql` or `)})`;
}
