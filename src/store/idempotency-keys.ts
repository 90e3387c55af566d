import type { Transaction } from 'kysely';
import { isFinalJobStatus, JOB_STATUSES } from '../domain/state-machine.js';
import type { Database, Db } from './database.js';
import type { JobRecord } from './records.js';

/**
 * Idempotency keys: a tenant's key belongs to one of its jobs at a time (a unique index), and is given up once that
 * job has been final for longer than the keys' time to live. Lookups go through that index.
 */

const FINAL_JOB_STATUSES = JOB_STATUSES.filter(isFinalJobStatus);

/** The tenant's job that holds the key. */
export async function jobHoldingKey(db: Db, tenant: string, key: string): Promise<JobRecord | undefined> {
  return db.selectFrom('jobs').selectAll().where('tenantId', '=', tenant).where('idempotencyKey', '=', key).executeTakeFirst();
}

/** Whether the job no longer guards its key: it finished before `finishedBefore`. */
export function keyExpired(job: JobRecord, finishedBefore: Date): boolean {
  return isFinalJobStatus(job.status) && job.finishedAt !== null && job.finishedAt < finishedBefore;
}

/**
 * Takes the key off a job that finished before `finishedBefore`, in the transaction that gives the
 * key to a new job. The conditions are checked again under the job's row lock: a job that a retry
 * has made unfinished meanwhile keeps its key, and the new job's insert then fails on the index.
 */
export async function releaseExpiredKey(trx: Transaction<Database>, jobId: string, key: string, finishedBefore: Date): Promise<void> {
  await trx
    .updateTable('jobs')
    .set({ idempotencyKey: null })
    .where('id', '=', jobId)
    .where('idempotencyKey', '=', key)
    .where('status', 'in', FINAL_JOB_STATUSES)
    .where('finishedAt', '<', finishedBefore)
    .execute();
}

export async function recordRequestHash(trx: Transaction<Database>, jobId: string, requestHash: string): Promise<JobRecord> {
  return trx
    .updateTable('jobs')
    .set({ idempotencyRequestHash: requestHash })
    .where('id', '=', jobId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The insert lost a race for the key: another transaction committed a job holding it. */
export function isKeyTaken(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, constraint } = error as { code?: unknown; constraint?: unknown };
  return code === '23505' && constraint === 'jobs_tenant_idempotency_key';
}
