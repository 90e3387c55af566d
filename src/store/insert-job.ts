import { randomUUID } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import { deriveJobStatus, emptyTaskStatusCounts, type TaskStatus } from '../domain/state-machine.js';
import type { BackoffPolicy } from '../domain/backoff.js';
import { toJson, type Database } from './database.js';
import { insertJobEvents, type NewJobEvent } from './job-bookkeeping.js';
import type { JobEventRecord, JobRecord, TaskRecord } from './records.js';

export interface NewTask {
  readonly key: string | null;
  /** The positions, in this job, of the tasks it waits for: it is BLOCKED until they succeed. */
  readonly dependsOn?: readonly number[];
  /** Its place in the job's topological order (`checkTaskGraph`); its position when no task has dependencies. */
  readonly dependencyRank?: number;
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
 * Writes a job, its tasks, their dependencies and their TASK_QUEUED events (a task with
 * dependencies starts BLOCKED). The tasks go in as one JSON parameter
 * expanded by `jsonb_to_recordset`, so a 10,000-task job is one statement with one bound value
 * instead of 110,000 (past PostgreSQL's limit of 65,535). The expansion reads a JSON `null`
 * payload as SQL NULL, so it is turned back into the JSON value.
 */
export async function insertJob(trx: Transaction<Database>, input: NewJob, now: Date): Promise<InsertedJob> {
  const counts = emptyTaskStatusCounts();
  const ids = input.tasks.map(() => randomUUID());
  const dependantCounts = new Array<number>(input.tasks.length).fill(0);
  const edges: { taskIds: string[]; dependsOn: string[] } = { taskIds: [], dependsOn: [] };
  for (const [position, task] of input.tasks.entries()) {
    if (task.dependsOn?.length && task.dependencyRank === undefined) {
      throw new Error(`task ${position} has dependencies but no dependencyRank: check the graph with checkTaskGraph first`);
    }
    for (const target of task.dependsOn ?? []) {
      const targetId = ids[target];
      if (targetId === undefined || target === position) throw new Error(`task ${position} depends on ${target}, which is not another task of the job`);
      dependantCounts[target] = (dependantCounts[target] ?? 0) + 1;
      edges.taskIds.push(ids[position]!);
      edges.dependsOn.push(targetId);
    }
  }
  const taskRows = input.tasks.map((task, position) => {
    const dependencies = task.dependsOn?.length ?? 0;
    const status: TaskStatus = dependencies > 0 ? 'BLOCKED' : task.runAt > now ? 'SCHEDULED' : 'QUEUED';
    counts[status] += 1;
    return {
      id: ids[position]!,
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
      dependency_count: dependencies,
      dependant_count: dependantCounts[position] ?? 0,
      dependency_rank: task.dependencyRank ?? position,
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
      blockedCount: counts.BLOCKED,
      queuedCount: counts.QUEUED,
      scheduledCount: counts.SCHEDULED,
      eventSeq: events.length,
      createdAt: now,
      updatedAt: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();

  const tasks = await sql<TaskRecord>`
    insert into tasks (id, job_id, position, key, type, queue, priority, status, payload, max_attempts, timeout_ms, backoff, run_at,
      dependency_count, pending_dependencies, dependant_count, dependency_rank, created_at, updated_at)
    select t.id, ${job.id}::uuid, t.position, t.key, t.type, t.queue, t.priority, t.status, coalesce(t.payload, 'null'::jsonb), t.max_attempts, t.timeout_ms, t.backoff, t.run_at,
      t.dependency_count, t.dependency_count, t.dependant_count, t.dependency_rank, ${now}, ${now}
    from jsonb_to_recordset(${toJson(taskRows)}::jsonb) as t(
      id uuid, position integer, key text, type text, queue text, priority smallint, status text,
      payload jsonb, max_attempts integer, timeout_ms integer, backoff jsonb, run_at timestamptz,
      dependency_count integer, dependant_count integer, dependency_rank integer)
    returning *`.execute(trx);
  if (edges.taskIds.length > 0) {
    await sql`
      insert into task_dependencies (task_id, depends_on)
      select * from unnest(${edges.taskIds}::uuid[], ${edges.dependsOn}::uuid[])`.execute(trx);
  }

  const written = await insertJobEvents(trx, job.id, 1, events);
  return { job, tasks: tasks.rows, events: written };
}
