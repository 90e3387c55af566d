import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../migrations/index.js';
import { PROGRESS_UNITS_PER_TASK, sumTaskProgressUnits } from '../../src/domain/progress-roll-up.js';
import type { Db } from '../../src/store/database.js';
import { insertJob } from '../../src/store/insert-job.js';
import { createMigrator, migrateToLatest } from '../../src/store/migrator.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import type { JobEvent } from '../../src/domain/job-event.js';
import { claimAttempt, completeAttempt, failAttempt, handBackAttempt } from '../support/attempt-writes.js';
import { recordProgress } from '../../src/store/record-progress.js';
import { cancelJob, cancelTask } from '../../src/store/cancel-tasks.js';
import { retryTask } from '../../src/store/retry-task.js';

const UNIT = PROGRESS_UNITS_PER_TASK;
const lease = { workerId: 'w1', leaseMs: 60_000 };

let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase();
});

afterAll(async () => {
  await t?.drop();
});

async function newJob(db: Db, size: number, maxAttempts = 3): Promise<{ jobId: string; taskIds: string[] }> {
  const now = new Date();
  const { job, tasks } = await db.transaction().execute((trx) =>
    insertJob(
      trx,
      'default',
      {
        name: 'progress',
        queue: 'default',
        priority: 5,
        idempotencyKey: null,
        metadata: {},
        tasks: Array.from({ length: size }, () => ({
          key: null,
          type: 'demo.sleep',
          queue: 'default',
          priority: 5,
          payload: {},
          maxAttempts,
          timeoutMs: null,
          runAt: now,
        })),
      },
      now,
    ),
  );
  return { jobId: job.id, taskIds: tasks.map((task) => task.id) };
}

/** A job written with only the columns that existed after migration 0007 (today's insertJob writes later ones). */
async function jobOfMigration0007(db: Db, size: number): Promise<{ jobId: string; taskIds: string[] }> {
  const jobId = randomUUID();
  const taskIds = Array.from({ length: size }, () => randomUUID());
  await sql`insert into jobs (id, name, queue, priority, status, task_count, queued_count) values (${jobId}, 'old', 'default', 5, 'QUEUED', ${size}, ${size})`.execute(db);
  for (const [position, id] of taskIds.entries()) {
    await sql`insert into tasks (id, job_id, position, type, queue, priority, status, payload, max_attempts)
      values (${id}, ${jobId}, ${position}, 'demo.sleep', 'default', 5, 'QUEUED', '{}'::jsonb, 3)`.execute(db);
  }
  return { jobId, taskIds };
}

/** The job's kept sum, after checking it against a full recount of its tasks. */
async function keptUnits(jobId: string): Promise<number> {
  const job = await t.db.selectFrom('jobs').select('progressUnits').where('id', '=', jobId).executeTakeFirstOrThrow();
  const tasks = await t.db.selectFrom('tasks').select(['status', 'progress', 'progressUnits']).where('jobId', '=', jobId).execute();
  const units = Number(job.progressUnits);
  expect(units, 'the job row against a recount of its tasks').toBe(sumTaskProgressUnits(tasks));
  expect(units, 'the job row against its tasks’ counted units').toBe(tasks.reduce((sum, task) => sum + task.progressUnits, 0));
  return units;
}

const progress = (current: number, total: number | null = 4) => ({ current, total, message: null });
const types = (events: readonly JobEvent[] | undefined) => events?.map((e) => e.type);
const rolledUp = (events: readonly JobEvent[] | undefined) => events?.find((e) => e.type === 'JOB_PROGRESS')?.data.jobProgress?.units;

async function allEvents(jobId: string): Promise<JobEvent[]> {
  return t.db.selectFrom('jobEvents').selectAll().where('jobId', '=', jobId).orderBy('seq').execute();
}

describe('the job’s progress follows its tasks', () => {
  it('moves with each progress report and completion, with one JOB_PROGRESS per change', async () => {
    const { jobId, taskIds } = await newJob(t.db, 2);
    const [a, b] = taskIds as [string, string];
    expect(await keptUnits(jobId)).toBe(0);
    await claimAttempt(t.db, { taskId: a, attempt: 1, ...lease });
    expect(await keptUnits(jobId)).toBe(0);

    const first = await recordProgress(t.db, { taskId: a, attempt: 1, progress: progress(1) });
    expect(types(first)).toEqual(['TASK_PROGRESS', 'JOB_PROGRESS']);
    expect(first[1]?.data.jobProgress).toEqual({
      units: UNIT / 4,
      counts: { BLOCKED: 0, QUEUED: 1, SCHEDULED: 0, RUNNING: 1, SUCCEEDED: 0, FAILED: 0, CANCELLED: 0 },
    });
    expect(await keptUnits(jobId)).toBe(UNIT / 4);
    // What the write returns is what it stored, the task's progress included.
    expect(first).toEqual((await allEvents(jobId)).slice(-2));
    expect(first[0]).toMatchObject({ taskId: a, data: { attempt: 1, progress: progress(1) } });
    const stored = await t.db.selectFrom('tasks').select('progress').where('id', '=', a).executeTakeFirstOrThrow();
    expect(stored.progress).toEqual(progress(1));
    const job = await t.db.selectFrom('jobs').select('eventSeq').where('id', '=', jobId).executeTakeFirstOrThrow();
    expect(job.eventSeq).toBe(first[1]?.seq);

    // The same report again leaves the number where it is.
    expect(types(await recordProgress(t.db, { taskId: a, attempt: 1, progress: progress(1) }))).toEqual(['TASK_PROGRESS']);
    expect(rolledUp(await recordProgress(t.db, { taskId: a, attempt: 1, progress: progress(3) }))).toBe((3 * UNIT) / 4);

    const done = await completeAttempt(t.db, { taskId: a, attempt: 1, result: null });
    expect(types(done?.events)).toEqual(['TASK_SUCCEEDED', 'JOB_PROGRESS']);
    expect(await keptUnits(jobId)).toBe(UNIT);

    await claimAttempt(t.db, { taskId: b, attempt: 1, ...lease });
    expect(types(await recordProgress(t.db, { taskId: b, attempt: 1, progress: progress(5, null) }))).toEqual(['TASK_PROGRESS']);
    // The last task finishing: the final progress comes before the final status.
    const last = await completeAttempt(t.db, { taskId: b, attempt: 1, result: null });
    expect(types(last?.events)).toEqual(['TASK_SUCCEEDED', 'JOB_PROGRESS', 'JOB_STATUS_CHANGED']);
    expect(rolledUp(last?.events)).toBe(2 * UNIT);
    expect(await keptUnits(jobId)).toBe(2 * UNIT);

    const seqs = (await allEvents(jobId)).map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
  });

  it('falls back when a failed attempt sends the task round again, and rises with the next', async () => {
    const { jobId, taskIds } = await newJob(t.db, 2);
    const [a] = taskIds as [string];
    await claimAttempt(t.db, { taskId: a, attempt: 1, ...lease });
    await recordProgress(t.db, { taskId: a, attempt: 1, progress: progress(3) });
    const retried = await failAttempt(t.db, { taskId: a, attempt: 1, error: { code: 'E', message: 'one' } });
    expect(retried?.task.status).toBe('QUEUED');
    // (With no task started any more, the job's status also goes back to QUEUED, after.)
    expect(types(retried?.events)?.slice(0, 2)).toEqual(['TASK_RETRY_SCHEDULED', 'JOB_PROGRESS']);
    expect(rolledUp(retried?.events)).toBe(0);
    expect(await keptUnits(jobId)).toBe(0);

    // The next attempt starts from nothing: no change, no event.
    expect(types((await claimAttempt(t.db, { taskId: a, attempt: 2, ...lease }))?.events)).not.toContain('JOB_PROGRESS');
    await recordProgress(t.db, { taskId: a, attempt: 2, progress: progress(2) });
    expect(await keptUnits(jobId)).toBe(UNIT / 2);
    // A handed-back attempt goes round too.
    const handedBack = await handBackAttempt(t.db, { taskId: a, attempt: 2, error: { code: 'SHUTDOWN', message: 'bye' } });
    expect(types(handedBack?.events)?.slice(0, 2)).toEqual(['TASK_RETRY_SCHEDULED', 'JOB_PROGRESS']);
    expect(await keptUnits(jobId)).toBe(0);
    await claimAttempt(t.db, { taskId: a, attempt: 3, ...lease });
    await completeAttempt(t.db, { taskId: a, attempt: 3, result: null });
    expect(await keptUnits(jobId)).toBe(UNIT);
  });

  it('counts a task that failed for good as nothing, and a retried one once it succeeds', async () => {
    const { jobId, taskIds } = await newJob(t.db, 2, 1);
    const [a, b] = taskIds as [string, string];
    await claimAttempt(t.db, { taskId: a, attempt: 1, ...lease });
    await recordProgress(t.db, { taskId: a, attempt: 1, progress: progress(2) });
    const failed = await failAttempt(t.db, { taskId: a, attempt: 1, error: { code: 'E', message: 'final' } });
    expect(failed?.task.status).toBe('FAILED');
    expect(types(failed?.events)).toEqual(['TASK_FAILED', 'JOB_PROGRESS']);
    await claimAttempt(t.db, { taskId: b, attempt: 1, ...lease });
    const partial = await completeAttempt(t.db, { taskId: b, attempt: 1, result: null });
    expect(types(partial?.events)).toEqual(['TASK_SUCCEEDED', 'JOB_PROGRESS', 'JOB_STATUS_CHANGED']);
    expect(partial?.events.at(-1)?.data.jobStatus).toBe('PARTIALLY_SUCCEEDED');
    expect(await keptUnits(jobId)).toBe(UNIT);

    // retryTask: FAILED → QUEUED moves nothing; the success does.
    expect(types((await retryTask(t.db, { tenant: 'default' }, a)).events)).toEqual(['TASK_QUEUED', 'JOB_STATUS_CHANGED']);
    await claimAttempt(t.db, { taskId: a, attempt: 2, ...lease });
    const succeeded = await completeAttempt(t.db, { taskId: a, attempt: 2, result: null });
    expect(types(succeeded?.events)).toEqual(['TASK_SUCCEEDED', 'JOB_PROGRESS', 'JOB_STATUS_CHANGED']);
    expect(await keptUnits(jobId)).toBe(2 * UNIT);
  });

  it('drops a cancelled task’s share, and cancelJob moves it once for all its tasks', async () => {
    const { jobId, taskIds } = await newJob(t.db, 4);
    const [a, b, c, d] = taskIds as [string, string, string, string];
    for (const taskId of [a, b, c]) await claimAttempt(t.db, { taskId, attempt: 1, ...lease });
    await recordProgress(t.db, { taskId: a, attempt: 1, progress: progress(2) });
    await recordProgress(t.db, { taskId: b, attempt: 1, progress: progress(1) });
    await completeAttempt(t.db, { taskId: c, attempt: 1, result: null });
    expect(await keptUnits(jobId)).toBe(UNIT / 2 + UNIT / 4 + UNIT);

    const cancelled = await cancelTask(t.db, { tenant: 'default' }, a);
    expect(types(cancelled.events)).toEqual(['TASK_CANCELLED', 'JOB_PROGRESS']);
    expect(await keptUnits(jobId)).toBe(UNIT / 4 + UNIT);

    const all = await cancelJob(t.db, { tenant: 'default' }, jobId);
    expect(types(all.events)).toEqual(['TASK_CANCELLED', 'TASK_CANCELLED', 'JOB_PROGRESS', 'JOB_STATUS_CHANGED']);
    expect(all.events.map((e) => e.taskId).slice(0, 2).sort()).toEqual([b, d].sort());
    expect(rolledUp(all.events)).toBe(UNIT);
    expect(await keptUnits(jobId)).toBe(UNIT);
  });

  it('keeps an exact sum under concurrent reports, and JOB_PROGRESS rises in event order', async () => {
    const TASKS = 8;
    const STEPS = 15;
    const { jobId, taskIds } = await newJob(t.db, TASKS);
    await Promise.all(taskIds.map((taskId) => claimAttempt(t.db, { taskId, attempt: 1, ...lease })));
    await Promise.all(
      taskIds.map(async (taskId) => {
        for (let step = 1; step <= STEPS; step++) await recordProgress(t.db, { taskId, attempt: 1, progress: progress(step, 7 * STEPS) });
        await completeAttempt(t.db, { taskId, attempt: 1, result: null });
      }),
    );
    expect(await keptUnits(jobId)).toBe(TASKS * UNIT);
    const units = (await allEvents(jobId)).flatMap((e) => (e.type === 'JOB_PROGRESS' ? [e.data.jobProgress?.units ?? -1] : []));
    expect(units).toEqual([...units].sort((x, y) => x - y));
    expect(new Set(units).size).toBe(units.length);
    expect(units.at(-1)).toBe(TASKS * UNIT);
  });
});

describe('migration 0008', () => {
  it('counts the progress of jobs stored before it', async () => {
    const old = await createTestDatabase({ migrate: false });
    try {
      const names = Object.keys(migrations);
      const before = names[names.indexOf('0008_job_progress') - 1] ?? '';
      const migrated = await createMigrator(old.db, old.schema).migrateTo(before);
      expect(migrated.error).toBeUndefined();
      const { jobId, taskIds } = await jobOfMigration0007(old.db, 4);
      const [a, b, c] = taskIds as [string, string, string];
      await old.db.updateTable('tasks').set({ status: 'SUCCEEDED' }).where('id', '=', a).execute();
      await old.db.updateTable('tasks').set({ status: 'RUNNING', progress: JSON.stringify(progress(1, 3)) }).where('id', '=', b).execute();
      await old.db.updateTable('tasks').set({ status: 'FAILED', progress: JSON.stringify(progress(3)) }).where('id', '=', c).execute();

      await migrateToLatest(old.db, old.schema);
      const job = await old.db.selectFrom('jobs').select('progressUnits').where('id', '=', jobId).executeTakeFirstOrThrow();
      expect(Number(job.progressUnits)).toBe(UNIT + 333_333);
      const tasks = await old.db.selectFrom('tasks').select(['id', 'progressUnits']).where('jobId', '=', jobId).orderBy('position').execute();
      expect(tasks.map((task) => task.progressUnits)).toEqual([UNIT, 333_333, 0, 0]);
    } finally {
      await old.drop();
    }
  });
});
