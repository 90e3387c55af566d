import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkTaskGraph } from '../../src/domain/task-graph.js';
import { insertJob } from '../../src/store/insert-job.js';
import { deleteExpiredJobsBatch, type RetentionPolicy } from '../../src/store/retention.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { claimAttempt, completeAttempt, failAttempt } from '../support/attempt-writes.js';
import { retryTask } from '../../src/store/retry-task.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});
beforeEach(async () => {
  await t.db.deleteFrom('jobs').execute();
});

const HOUR = 3_600_000;
const policy: RetentionPolicy = { defaultMs: HOUR, byQueue: new Map([['keep', 24 * HOUR], ['brief', 0]]) };

/** A job of `size` tasks on `queue`, the second depending on the first; `finish` runs them all to SUCCEEDED. */
async function job(queue: string, size = 2, finish = true): Promise<{ id: string; taskIds: string[] }> {
  const inputs = Array.from({ length: size }, (_, i) => ({ key: `t${i}`, dependsOn: i === 1 ? ['t0'] : [] }));
  const check = checkTaskGraph(inputs, { maxEdges: 10 });
  if (!check.ok) throw new Error('bad graph');
  const now = new Date(Date.now() - 1_000);
  const inserted = await t.db.transaction().execute((trx) =>
    insertJob(
      trx,
      'default',
      {
        name: 'old',
        queue,
        priority: 5,
        idempotencyKey: null,
        metadata: {},
        tasks: inputs.map((input, i) => ({
          key: input.key,
          dependsOn: check.graph.dependsOn[i] ?? [],
          dependencyRank: check.graph.rank[i] ?? i,
          type: 'demo.echo',
          queue,
          priority: 5,
          payload: i,
          maxAttempts: 1,
          timeoutMs: null,
          runAt: now,
        })),
      },
      now,
    ),
  );
  const ordered = [...inserted.tasks].sort((a, b) => a.dependencyRank - b.dependencyRank);
  if (finish) {
    for (const task of ordered) {
      await claimAttempt(t.db, { taskId: task.id, attempt: 1, workerId: 'w', leaseMs: 60_000 });
      await completeAttempt(t.db, { taskId: task.id, attempt: 1, result: task.position });
    }
  }
  return { id: inserted.job.id, taskIds: inserted.tasks.map((task) => task.id) };
}

const later = (ms: number): Date => new Date(Date.now() + ms);

async function remaining(): Promise<Record<string, number>> {
  const count = async (table: string): Promise<number> =>
    Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(t.db)).rows[0]?.n);
  return {
    jobs: await count('jobs'),
    tasks: await count('tasks'),
    attempts: await count('task_attempts'),
    events: await count('job_events'),
    dependencies: await count('task_dependencies'),
  };
}

describe('deleteExpiredJobsBatch', () => {
  it('removes the jobs whose queue retention has passed since they finished, with all that is theirs, and nothing else', async () => {
    const expired = await job('default');
    const kept = await job('keep');
    const brief = await job('brief');
    const unfinished = await job('default', 2, false);

    // Half an hour on: only the queue that keeps nothing is due.
    const first = await deleteExpiredJobsBatch(t.db, { now: later(HOUR / 2), policy, maxTasks: 1_000 });
    expect(first).toEqual({ ran: true, jobs: 1, tasks: 2 });
    expect(await t.db.selectFrom('jobs').select('id').where('id', '=', brief.id).executeTakeFirst()).toBeUndefined();

    // Two hours on: the default queue's jobs are due; `keep` and the unfinished one stay.
    const second = await deleteExpiredJobsBatch(t.db, { now: later(2 * HOUR), policy, maxTasks: 1_000 });
    expect(second).toEqual({ ran: true, jobs: 1, tasks: 2 });
    const left = await t.db.selectFrom('jobs').select('id').execute();
    expect(left.map((row) => row.id).sort()).toEqual([kept.id, unfinished.id].sort());
    expect(expired.taskIds.length).toBe(2);
    // Two jobs of two tasks, each with its attempts, events and one dependency, are left.
    expect(await remaining()).toMatchObject({ jobs: 2, tasks: 4, attempts: 2, dependencies: 2 });
    const events = await t.db.selectFrom('jobEvents').select('jobId').distinct().execute();
    expect(events.map((row) => row.jobId).sort()).toEqual([kept.id, unfinished.id].sort());

    expect(await deleteExpiredJobsBatch(t.db, { now: later(2 * HOUR), policy, maxTasks: 1_000 })).toEqual({ ran: true, jobs: 0, tasks: 0 });
  });

  it('keeps a batch to about maxTasks tasks, oldest first, and takes a job larger than that alone', async () => {
    const big = await job('default', 6);
    const small = [await job('default', 2), await job('default', 2), await job('default', 2)];
    const now = later(2 * HOUR);
    expect(await deleteExpiredJobsBatch(t.db, { now, policy, maxTasks: 4 })).toEqual({ ran: true, jobs: 1, tasks: 6 });
    expect(await t.db.selectFrom('jobs').select('id').where('id', '=', big.id).executeTakeFirst()).toBeUndefined();
    expect(await deleteExpiredJobsBatch(t.db, { now, policy, maxTasks: 4 })).toEqual({ ran: true, jobs: 2, tasks: 4 });
    expect(await deleteExpiredJobsBatch(t.db, { now, policy, maxTasks: 4 })).toEqual({ ran: true, jobs: 1, tasks: 2 });
    expect(small).toHaveLength(3);
  });

  it('does nothing while another process holds the retention lock', async () => {
    await job('default');
    const now = later(2 * HOUR);
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked: () => void = () => {};
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = t.db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext('jobql.retention'), hashtext(current_schema()))`.execute(trx);
      locked();
      await held;
    });
    await isLocked;
    try {
      expect(await deleteExpiredJobsBatch(t.db, { now, policy, maxTasks: 1_000 })).toEqual({ ran: false, jobs: 0, tasks: 0 });
    } finally {
      release();
      await holder;
    }
    expect(await deleteExpiredJobsBatch(t.db, { now, policy, maxTasks: 1_000 })).toEqual({ ran: true, jobs: 1, tasks: 2 });
  });

  it('keeps a job that a retry made unfinished again', async () => {
    const old = await job('default', 1, false);
    const [taskId] = old.taskIds as [string];
    await claimAttempt(t.db, { taskId, attempt: 1, workerId: 'w', leaseMs: 60_000 });
    await failAttempt(t.db, { taskId, attempt: 1, error: { code: 'X', message: 'x' } });
    expect((await t.db.selectFrom('jobs').select('status').where('id', '=', old.id).executeTakeFirstOrThrow()).status).toBe('FAILED');
    await retryTask(t.db, { tenant: 'default' }, taskId);
    expect(await deleteExpiredJobsBatch(t.db, { now: later(2 * HOUR), policy, maxTasks: 1_000 })).toEqual({ ran: true, jobs: 0, tasks: 0 });
    expect(await remaining()).toMatchObject({ jobs: 1, tasks: 1 });
  });
});
