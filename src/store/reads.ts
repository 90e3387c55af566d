import type { JobStatus } from '../domain/state-machine.js';
import type { Db } from './database.js';
import type { JobRecord, TaskAttemptRecord, TaskRecord } from './records.js';
import type { JobEvent } from '../domain/job-event.js';
import type { Tenancy } from '../domain/tenancy.js';
import { withinTenancy } from './tenancy-sql.js';

/**
 * The reads behind the API. Each takes a batch, so per-request loaders make one statement a
 * batch, and each reads inside the caller's tenancy only: a row of another tenant (or, for a job
 * token, of another job) is not found, exactly as a row that does not exist.
 */

export async function jobsByIds(db: Db, tenancy: Tenancy, ids: readonly string[]): Promise<JobRecord[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('jobs').selectAll().where('id', 'in', ids).where(withinTenancy(tenancy, { table: 'jobs' })).execute();
}

export async function tasksByIds(db: Db, tenancy: Tenancy, ids: readonly string[]): Promise<TaskRecord[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('tasks').selectAll().where('id', 'in', ids).where(withinTenancy(tenancy, { table: 'tasks' })).execute();
}

/** Every attempt of these tasks, oldest first within each task. */
export async function attemptsByTaskIds(db: Db, tenancy: Tenancy, taskIds: readonly string[]): Promise<TaskAttemptRecord[]> {
  if (taskIds.length === 0) return [];
  return db
    .selectFrom('taskAttempts as a')
    .innerJoin('tasks as t', 't.id', 'a.taskId')
    .selectAll('a')
    .where('a.taskId', 'in', taskIds)
    .where(withinTenancy(tenancy, { table: 'tasks', alias: 't' }))
    .orderBy('a.taskId')
    .orderBy('a.number')
    .execute();
}

/** The tasks each of these tasks depends on, with the id of the task that depends on them, in list order. */
export async function dependenciesByTaskIds(
  db: Db,
  tenancy: Tenancy,
  taskIds: readonly string[],
): Promise<(TaskRecord & { readonly dependantId: string })[]> {
  if (taskIds.length === 0) return [];
  return db
    .selectFrom('taskDependencies as d')
    .innerJoin('tasks as t', 't.id', 'd.dependsOn')
    .selectAll('t')
    .select('d.taskId as dependantId')
    .where('d.taskId', 'in', taskIds)
    .where(withinTenancy(tenancy, { table: 'tasks', alias: 't' }))
    .orderBy('t.position')
    .execute();
}

export interface JobFilter {
  readonly status?: readonly JobStatus[];
  readonly queue?: string;
  readonly name?: string;
  readonly createdAfter?: Date;
  readonly createdBefore?: Date;
}

/** A position in the newest-first order of jobs. */
export interface JobCursor {
  readonly createdAt: Date;
  readonly id: string;
}

/**
 * One page of jobs, newest first, by keyset: `(created_at, id)` below the cursor (or above it,
 * for `before`), served by the `jobs_tenant_*_created` indexes whatever the filter.
 */
export async function listJobs(
  db: Db,
  tenancy: Tenancy,
  params: { readonly filter: JobFilter; readonly after?: JobCursor; readonly before?: JobCursor; readonly limit: number; readonly inverted?: boolean },
): Promise<JobRecord[]> {
  const { filter } = params;
  let query = db.selectFrom('jobs').selectAll().where(withinTenancy(tenancy, { table: 'jobs' }));
  if (filter.status && filter.status.length > 0) query = query.where('status', 'in', filter.status);
  if (filter.queue !== undefined) query = query.where('queue', '=', filter.queue);
  if (filter.name !== undefined) query = query.where('name', '=', filter.name);
  if (filter.createdAfter) query = query.where('createdAt', '>=', filter.createdAfter);
  if (filter.createdBefore) query = query.where('createdAt', '<', filter.createdBefore);
  const { after, before } = params;
  if (after) query = query.where((eb) => eb(eb.refTuple('createdAt', 'id'), '<', eb.tuple(after.createdAt, after.id)));
  if (before) query = query.where((eb) => eb(eb.refTuple('createdAt', 'id'), '>', eb.tuple(before.createdAt, before.id)));
  // Inverted (paging backwards from `before`): oldest first, nearest the cursor first.
  const direction = params.inverted ? 'asc' : 'desc';
  return query.orderBy('createdAt', direction).orderBy('id', direction).limit(params.limit).execute();
}

export interface PageRequest {
  readonly jobId: string;
  readonly offset: number;
  readonly limit: number;
}

/**
 * Pages of tasks for many jobs in one statement. Positions are dense (0…n-1 within a job), so an
 * offset is a range on the `(job_id, position)` unique index, not a scan.
 */
export async function taskPages(db: Db, tenancy: Tenancy, requests: readonly PageRequest[]): Promise<TaskRecord[]> {
  if (requests.length === 0) return [];
  return db
    .selectFrom('tasks')
    .selectAll()
    .where(withinTenancy(tenancy, { table: 'tasks' }))
    .where((eb) =>
      eb.or(
        requests.map((r) =>
          eb.and([eb('jobId', '=', r.jobId), eb('position', '>=', r.offset), eb('position', '<', r.offset + r.limit)]),
        ),
      ),
    )
    .orderBy('jobId')
    .orderBy('position')
    .execute();
}

/** Pages of events for many jobs in one statement; `seq` is dense from 1 within a job. */
export async function eventPages(db: Db, tenancy: Tenancy, requests: readonly PageRequest[]): Promise<JobEvent[]> {
  if (requests.length === 0) return [];
  return db
    .selectFrom('jobEvents as e')
    .innerJoin('jobs as j', 'j.id', 'e.jobId')
    .selectAll('e')
    .where(withinTenancy(tenancy, { table: 'jobs', alias: 'j' }))
    .where((eb) =>
      eb.or(requests.map((r) => eb.and([eb('e.jobId', '=', r.jobId), eb('e.seq', '>', r.offset), eb('e.seq', '<=', r.offset + r.limit)]))),
    )
    .orderBy('e.jobId')
    .orderBy('e.seq')
    .execute();
}

/** A job's events after `afterSeq`, in order: what a subscription replays and fills gaps from. */
export async function eventsAfter(
  db: Db,
  tenancy: Tenancy,
  params: { readonly jobId: string; readonly afterSeq: number; readonly limit: number },
): Promise<JobEvent[]> {
  return db
    .selectFrom('jobEvents as e')
    .innerJoin('jobs as j', 'j.id', 'e.jobId')
    .selectAll('e')
    .where('e.jobId', '=', params.jobId)
    .where(withinTenancy(tenancy, { table: 'jobs', alias: 'j' }))
    .where('e.seq', '>', params.afterSeq)
    .orderBy('e.seq')
    .limit(params.limit)
    .execute();
}

/** One stored event, by its job and number: what a bus reads for an event too big to travel (any tenant's). */
export async function eventBySeq(db: Db, ref: { readonly jobId: string; readonly seq: number }): Promise<JobEvent | undefined> {
  return db.selectFrom('jobEvents').selectAll().where('jobId', '=', ref.jobId).where('seq', '=', ref.seq).executeTakeFirst();
}
