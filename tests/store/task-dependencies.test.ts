import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../migrations/index.js';
import { checkTaskGraph } from '../../src/domain/task-graph.js';
import type { Db } from '../../src/store/database.js';
import { insertJob } from '../../src/store/insert-job.js';
import { createMigrator, migrateToLatest } from '../../src/store/migrator.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { claimAttempt, completeAttempt, failAttempt } from '../support/attempt-writes.js';
import { cancelJob } from '../../src/store/cancel-tasks.js';
import { retryTask } from '../../src/store/retry-task.js';

/**
 * The store's side of dependencies under concurrency: the releases, cascades and retries that
 * race with each other in separate transactions, as they do across workers and the API.
 */

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

const lease = { workerId: 'w1', leaseMs: 60_000 };

/** A job of tasks named by key, each depending on the keys given; returns their ids by key. */
async function jobOf(graph: Record<string, readonly string[]>, maxAttempts = 1): Promise<{ jobId: string; ids: Record<string, string> }> {
  const keys = Object.keys(graph);
  const inputs = keys.map((key) => ({ key, dependsOn: [...(graph[key] ?? [])] }));
  const check = checkTaskGraph(inputs, { maxEdges: 1_000 });
  if (!check.ok) throw new Error(JSON.stringify(check.issues));
  const now = new Date(Date.now() - 1_000);
  const { job, tasks } = await t.db.transaction().execute((trx) =>
    insertJob(
      trx,
      'default',
      {
        name: 'graph',
        queue: 'default',
        priority: 5,
        idempotencyKey: null,
        metadata: {},
        tasks: keys.map((key, i) => ({
          key,
          dependsOn: check.graph.dependsOn[i] ?? [],
          dependencyRank: check.graph.rank[i] ?? i,
          type: 'demo.echo',
          queue: 'default',
          priority: 5,
          payload: key,
          maxAttempts,
          timeoutMs: null,
          runAt: now,
        })),
      },
      now,
    ),
  );
  return { jobId: job.id, ids: Object.fromEntries(tasks.map((task) => [task.key ?? '', task.id])) };
}

async function run(taskId: string): Promise<void> {
  const claimed = await claimAttempt(t.db, { taskId, attempt: 1, ...lease });
  if (!claimed) throw new Error(`could not claim ${taskId}`);
}

async function statusOf(taskId: string) {
  return t.db.selectFrom('tasks').select(['status', 'pendingDependencies', 'error']).where('id', '=', taskId).executeTakeFirstOrThrow();
}

async function releaseEvents(jobId: string, taskId: string): Promise<number> {
  const rows = await t.db.selectFrom('jobEvents').select('data').where('jobId', '=', jobId).where('taskId', '=', taskId).where('type', '=', 'TASK_QUEUED').execute();
  return rows.filter((row) => row.data.taskStatus === 'QUEUED').length;
}

describe('dependencies in the store', () => {
  it('releases a task exactly once when its dependencies succeed at the same moment', async () => {
    for (let round = 0; round < 20; round++) {
      const { jobId, ids } = await jobOf({ a: [], b: [], c: [], join: ['a', 'b', 'c'] });
      await Promise.all(['a', 'b', 'c'].map((key) => run(ids[key]!)));
      const ends = await Promise.all(['a', 'b', 'c'].map((key) => completeAttempt(t.db, { taskId: ids[key]!, attempt: 1, result: key })));
      expect(ends.flatMap((end) => end?.released.map((task) => task.key) ?? [])).toEqual(['join']);
      expect(await statusOf(ids['join']!)).toMatchObject({ status: 'QUEUED', pendingDependencies: 0 });
      expect(await releaseEvents(jobId, ids['join']!)).toBe(1);
    }
  });

  it('never leaves a retried task BLOCKED behind a dependency that succeeded meanwhile', async () => {
    for (let round = 0; round < 20; round++) {
      // `up` failed once, its dependant was cancelled; now `up` is retried and runs while the dependant is retried.
      const { ids } = await jobOf({ up: [], down: ['up'] });
      await run(ids['up']!);
      await failAttempt(t.db, { taskId: ids['up']!, attempt: 1, error: { code: 'X', message: 'x' } });
      expect((await statusOf(ids['down']!)).status).toBe('CANCELLED');
      await retryTask(t.db, { tenant: 'default' }, ids['up']!);
      await claimAttempt(t.db, { taskId: ids['up']!, attempt: 2, ...lease });
      await Promise.all([completeAttempt(t.db, { taskId: ids['up']!, attempt: 2, result: 'up' }), retryTask(t.db, { tenant: 'default' }, ids['down']!)]);
      expect(await statusOf(ids['down']!)).toMatchObject({ status: 'QUEUED', pendingDependencies: 0 });
    }
  });

  it('never leaves a retried task BLOCKED behind a dependency that failed meanwhile', async () => {
    for (let round = 0; round < 20; round++) {
      // As above, but `up` fails for good this time while `down` is retried: `down` ends CANCELLED either way.
      const { ids } = await jobOf({ up: [], down: ['up'] });
      await run(ids['up']!);
      await failAttempt(t.db, { taskId: ids['up']!, attempt: 1, error: { code: 'X', message: 'x' } });
      await retryTask(t.db, { tenant: 'default' }, ids['up']!);
      await claimAttempt(t.db, { taskId: ids['up']!, attempt: 2, ...lease });
      await Promise.allSettled([
        failAttempt(t.db, { taskId: ids['up']!, attempt: 2, error: { code: 'X', message: 'again' } }),
        retryTask(t.db, { tenant: 'default' }, ids['down']!),
      ]);
      expect(await statusOf(ids['up']!)).toMatchObject({ status: 'FAILED' });
      expect(await statusOf(ids['down']!)).toMatchObject({ status: 'CANCELLED', error: { code: 'DEPENDENCY_FAILED' } });
    }
  });

  it('cancels the whole downstream of a failure in one transaction, and nothing else', async () => {
    const { jobId, ids } = await jobOf({ root: [], left: ['root'], right: ['root'], both: ['left', 'right'], other: [] });
    await run(ids['root']!);
    const end = await failAttempt(t.db, { taskId: ids['root']!, attempt: 1, error: { code: 'BOOM', message: 'boom' } });
    expect(end?.events.map((event) => [event.type, event.taskId])).toEqual([
      ['TASK_FAILED', ids['root']],
      ['TASK_CANCELLED', ids['left']],
      ['TASK_CANCELLED', ids['right']],
      ['TASK_CANCELLED', ids['both']],
    ]);
    for (const key of ['left', 'right', 'both']) expect((await statusOf(ids[key]!)).error).toMatchObject({ code: 'DEPENDENCY_FAILED' });
    expect((await statusOf(ids['other']!)).status).toBe('QUEUED');
    const job = await t.db.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirstOrThrow();
    expect([job.blockedCount, job.queuedCount, job.failedCount, job.cancelledCount]).toEqual([0, 1, 1, 3]);
  });

  it('takes a cancelJob and completions racing on one job without a deadlock', async () => {
    for (let round = 0; round < 10; round++) {
      // Listed so that dependants come first: list order is not the lock order.
      const { ids, jobId } = await jobOf({ z: ['a', 'b'], y: ['a'], a: [], b: [] });
      await Promise.all([run(ids['a']!), run(ids['b']!)]);
      const outcomes = await Promise.allSettled([
        completeAttempt(t.db, { taskId: ids['a']!, attempt: 1, result: 1 }),
        cancelJob(t.db, { tenant: 'default' }, jobId),
        completeAttempt(t.db, { taskId: ids['b']!, attempt: 1, result: 2 }),
      ]);
      expect(outcomes.map((o) => (o.status === 'rejected' ? String(o.reason) : 'ok'))).toEqual(['ok', 'ok', 'ok']);
      const job = await t.db.selectFrom('jobs').select(['status', 'blockedCount', 'runningCount']).where('id', '=', jobId).executeTakeFirstOrThrow();
      expect(job).toMatchObject({ blockedCount: 0, runningCount: 0 });
    }
  });
});

describe('migration 0009', () => {
  it('ranks the tasks stored before it by their position', async () => {
    const old = await createTestDatabase({ migrate: false });
    try {
      const names = Object.keys(migrations);
      const migrated = await createMigrator(old.db, old.schema).migrateTo(names[names.indexOf('0009_task_dependencies') - 1] ?? '');
      expect(migrated.error).toBeUndefined();
      const jobId = randomUUID();
      await sql`insert into jobs (id, name, queue, priority, status, task_count, queued_count) values (${jobId}, 'old', 'default', 5, 'QUEUED', 3, 3)`.execute(old.db);
      for (const position of [0, 1, 2]) {
        await sql`insert into tasks (id, job_id, position, type, queue, priority, status, payload, max_attempts)
          values (${randomUUID()}, ${jobId}, ${position}, 'demo.echo', 'default', 5, 'QUEUED', '1'::jsonb, 3)`.execute(old.db);
      }
      await migrateToLatest(old.db as Db, old.schema);
      const tasks = await old.db.selectFrom('tasks').select(['position', 'dependencyRank', 'dependencyCount', 'pendingDependencies']).orderBy('position').execute();
      expect(tasks).toEqual([0, 1, 2].map((position) => ({ position, dependencyRank: position, dependencyCount: 0, pendingDependencies: 0 })));
    } finally {
      await old.drop();
    }
  });
});
