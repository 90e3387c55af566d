import { randomUUID } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import { deriveJobStatus, emptyTaskStatusCounts, type TaskStatus } from '../domain/state-machine.js';
import type { BackoffPolicy } from '../domain/backoff.js';
import { toJson, type Database } from './database.js';
import { insertJobEvents, type NewJobEvent } from './job-bookkeeping.js';
import type { JobEventRecord, JobRecord, TaskRecord } from './records.js';

export interface NewTask {
  readonly key: string | null;
  readonly type: string;
  readonly queue: string;
  readonly priority: number;
  readonly payload: unknown;
  readonly maxAttempts: number;
  readonly timeoutMs: number | null;
  /** Absent: retry at once. */
  readonly backoff?: BackoffPolicy | null;
  /** Later than the submission's `now`: the task is SCHEDULED until then. */
  readonly runAt: Date;
}

export interface NewJob {
  readonly name: string;
  readonly queue: string;
  readonly priority: number;
  readonly idempotencyKey: string | null;
  readonly metadata: Record<string, unknown>;
  readonly tasks: readonly NewTask[];
}

export interface InsertedJob {
  readonly job: JobRecord;
  readonly tasks: TaskRecord[];
  readonly events: JobEventRecord[];
}

/**
 * Writes a job, its tasks and their TASK_QUEUED events. The tasks go in as one JSON parameter
 * expanded by `jsonb_to_recordset`, so a 10,000-task job is one statement with one bound value
 * instead of 110,000 (past PostgreSQL's limit of 65,535). The expansion reads a JSON `null`
 * payload as SQL NULL, so it is turned back into the JSON value.
 */
export async function insertJob(trx: Transaction<Database>, input: NewJob, now: Date): Promise<InsertedJob> {
  const counts = emptyTaskStatusCounts();
  const taskRows = input.tasks.map((task, position) => {
    const status: TaskStatus = task.runAt > now ? 'SCHEDULED' : 'QUEUED';
    counts[status] += 1;
    return {
      id: randomUUID(),
      position,
      key: task.key,
      type: task.type,
      queue: task.queue,
      priority: task.priority,
      status,
      payload: task.payload ?? null,
      max_attempts: task.maxAttempts,
      timeout_ms: task.timeoutMs,
      backoff: task.backoff ?? null,
      run_at: task.runAt.toISOString(),
    };
  });
  const status = deriveJobStatus(counts);
  const events: NewJobEvent[] = [
    ...taskRows.map((task): NewJobEvent => ({ type: 'TASK_QUEUED', taskId: task.id, data: { taskStatus: task.status } })),
    { type: 'JOB_STATUS_CHANGED', taskId: null, data: { jobStatus: status } },
  ];

  const job = await trx
    .insertInto('jobs')
    .values({
      id: randomUUID(),
      name: input.name,
      queue: input.queue,
      priority: input.priority,
      status,
      idempotencyKey: input.idempotencyKey,
      metadata: toJson(input.metadata),
      taskCount: taskRows.length,
      queuedCount: counts.QUEUED,
      scheduledCount: counts.SCHEDULED,
      eventSeq: events.length,
      createdAt: now,
      updatedAt: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();

  const tasks = await sql<TaskRecord>`
    insert into tasks (id, job_id, position, key, type, queue, priority, status, payload, max_attempts, timeout_ms, backoff, run_at, created_at, updated_at)
    select t.id, ${job.id}::uuid, t.position, t.key, t.type, t.queue, t.priority, t.status, coalesce(t.payload, 'null'::jsonb), t.max_attempts, t.timeout_ms, t.backoff, t.run_at, ${now}, ${now}
    from jsonb_to_recordset(${toJson(taskRows)}::jsonb) as t(
      id uuid, position integer, key text, type text, queue text, priority smallint, status text,
      payload jsonb, max_attempts integer, timeout_ms integer, backoff jsonb, run_at timestamptz)
    returning *`.execute(trx);

  const written = await insertJobEvents(trx, job.id, 1, events);
  return { job, tasks: tasks.rows, events: written };
}
