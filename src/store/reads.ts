import type { JobStatus } from '../domain/state-machine.js';
import type { Db } from './database.js';
import type { JobRecord, TaskAttemptRecord, TaskRecord } from './records.js';
import type { JobEvent } from '../domain/job-event.js';

/** The reads behind the API. Each takes a batch, so per-request loaders make one statement a batch. */

export async function jobsByIds(db: Db, ids: readonly string[]): Promise<JobRecord[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('jobs').selectAll().where('id', 'in', ids).execute();
}

export async function tasksByIds(db: Db, ids: readonly string[]): Promise<TaskRecord[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('tasks').selectAll().where('id', 'in', ids).execute();
}

/** Every attempt of these tasks, oldest first within each task. */
export async function attemptsByTaskIds(db: Db, taskIds: readonly string[]): Promise<TaskAttemptRecord[]> {
  if (taskIds.length === 0) return [];
  return db.selectFrom('taskAttempts').selectAll().where('taskId', 'in', taskIds).orderBy('taskId').orderBy('number').execute();
}

/** The tasks each of these tasks depends on, with the id of the task that depends on them, in list order. */
export async function dependenciesByTaskIds(db: Db, taskIds: readonly string[]): Promise<(TaskRecord & { readonly dependantId: string })[]> {
  if (taskIds.length === 0) return [];
  return db
    .selectFrom('taskDependencies as d')
    .innerJoin('tasks as t', 't.id', 'd.dependsOn')
    .selectAll('t')
    .select('d.taskId as dependantId')
    .where('d.taskId', 'in', taskIds)
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
 * for `before`), served by the `jobs_*_created` indexes whatever the filter.
 */
export async function listJobs(
  db: Db,
  params: { readonly filter: JobFilter; readonly after?: JobCursor; readonly before?: JobCursor; readonly limit: number; readonly inverted?: boolean },
): Promise<JobRecord[]> {
  const { filter } = params;
  let query = db.selectFrom('jobs').selectAll();
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
export async function taskPages(db: Db, requests: readonly PageRequest[]): Promise<TaskRecord[]> {
  if (requests.length === 0) return [];
  return db
    .selectFrom('tasks')
    .selectAll()
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
export async function eventPages(db: Db, requests: readonly PageRequest[]): Promise<JobEvent[]> {
  if (requests.length === 0) return [];
  return db
    .selectFrom('jobEvents')
    .selectAll()
    .where((eb) =>
      eb.or(requests.map((r) => eb.and([eb('jobId', '=', r.jobId), eb('seq', '>', r.offset), eb('seq', '<=', r.offset + r.limit)]))),
    )
    .orderBy('jobId')
    .orderBy('seq')
    .execute();
}

/** A job's events after `afterSeq`, in order: what a subscription replays and fills gaps from. */
export async function eventsAfter(
  db: Db,
  params: { readonly jobId: string; readonly afterSeq: number; readonly limit: number },
): Promise<JobEvent[]> {
  return db
    .selectFrom('jobEvents')
    .selectAll()
    .where('jobId', '=', params.jobId)
    .where('seq', '>', params.afterSeq)
    .orderBy('seq')
    .limit(params.limit)
    .execute();
}

/** One stored event, by its job and number: what a bus reads for an event too big to travel. */
export async function eventBySeq(db: Db, ref: { readonly jobId: string; readonly seq: number }): Promise<JobEvent | undefined> {
  return db.selectFrom('jobEvents').selectAll().where('jobId', '=', ref.jobId).where('seq', '=', ref.seq).executeTakeFirst();
}
