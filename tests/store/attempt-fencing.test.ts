import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertJob } from '../../src/store/insert-job.js';
import { findExpiredLeases } from '../../src/store/recovery.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { claimAttempt, completeAttempt, failAttempt, renewLeases } from '../support/attempt-writes.js';
import { recordProgress } from '../../src/store/record-progress.js';
import { cancelTask } from '../../src/store/cancel-tasks.js';

let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase();
});

afterAll(async () => {
  await t?.drop();
});

async function newTask(maxAttempts = 3): Promise<string> {
  const now = new Date();
  const { tasks } = await t.db.transaction().execute((trx) =>
    insertJob(
      trx,
      'default',
      {
        name: 'fencing',
        queue: 'default',
        priority: 5,
        idempotencyKey: null,
        metadata: {},
        tasks: [{ key: null, type: 'demo.echo', queue: 'default', priority: 5, payload: 1, maxAttempts, timeoutMs: null, runAt: now }],
      },
      now,
    ),
  );
  return tasks[0]?.id ?? '';
}

const lease = { workerId: 'w1', leaseMs: 60_000 };

describe('attempts are fenced by task id + attempt number', () => {
  it('a duplicate delivery of a claimed attempt claims nothing', async () => {
    const taskId = await newTask();
    expect(await claimAttempt(t.db, { taskId, attempt: 1, ...lease })).toBeDefined();
    expect(await claimAttempt(t.db, { taskId, attempt: 1, ...lease, workerId: 'w2' })).toBeUndefined();
    // A delivery from the future (attempt 3 while 1 runs) claims nothing either.
    expect(await claimAttempt(t.db, { taskId, attempt: 3, ...lease })).toBeUndefined();
  });

  it('two workers racing for one delivery: exactly one wins', async () => {
    const taskId = await newTask();
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => claimAttempt(t.db, { taskId, attempt: 1, workerId: `w${i}`, leaseMs: 60_000 })),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('a zombie whose lease expired cannot complete, fail or report progress over the next attempt', async () => {
    const taskId = await newTask();
    await claimAttempt(t.db, { taskId, attempt: 1, workerId: 'zombie', leaseMs: 1 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await findExpiredLeases(t.db, { now: new Date(), limit: 100 })).toContainEqual({ taskId, attempt: 1 });
    // The reaper ends attempt 1; attempt 2 starts elsewhere.
    const reaped = await failAttempt(t.db, { taskId, attempt: 1, error: { code: 'LEASE_EXPIRED', message: 'gone' } });
    expect(reaped?.task.status).toBe('QUEUED');
    expect(await claimAttempt(t.db, { taskId, attempt: 2, workerId: 'fresh', leaseMs: 60_000 })).toBeDefined();

    expect(await completeAttempt(t.db, { taskId, attempt: 1, result: 'stale' })).toBeUndefined();
    expect(await failAttempt(t.db, { taskId, attempt: 1, error: { code: 'X', message: 'stale' } })).toBeUndefined();
    expect(await recordProgress(t.db, { taskId, attempt: 1, progress: { current: 1, total: null, message: null } })).toEqual([]);
    expect(await renewLeases(t.db, { workerId: 'zombie', attempts: [{ taskId, attempt: 1 }], leaseMs: 60_000 })).toEqual([]);

    expect(await completeAttempt(t.db, { taskId, attempt: 2, result: 'fresh' })).toBeDefined();
    const task = await t.db.selectFrom('tasks').selectAll().where('id', '=', taskId).executeTakeFirstOrThrow();
    expect(task).toMatchObject({ status: 'SUCCEEDED', result: 'fresh', attempt: 2 });
    const attempts = await t.db.selectFrom('taskAttempts').selectAll().where('taskId', '=', taskId).orderBy('number').execute();
    expect(attempts.map((a) => [a.number, a.status, a.workerId])).toEqual([
      [1, 'FAILED', 'zombie'],
      [2, 'SUCCEEDED', 'fresh'],
    ]);
  });

  it('a cancelled running task stays cancelled when its handler returns anyway', async () => {
    const taskId = await newTask();
    await claimAttempt(t.db, { taskId, attempt: 1, ...lease });
    await cancelTask(t.db, { tenant: 'default' }, taskId);
    expect(await completeAttempt(t.db, { taskId, attempt: 1, result: 'late' })).toBeUndefined();
    const task = await t.db.selectFrom('tasks').selectAll().where('id', '=', taskId).executeTakeFirstOrThrow();
    expect(task).toMatchObject({ status: 'CANCELLED', result: null });
  });

  it('the last allowed attempt fails for good; earlier ones go round again', async () => {
    const taskId = await newTask(2);
    await claimAttempt(t.db, { taskId, attempt: 1, ...lease });
    expect((await failAttempt(t.db, { taskId, attempt: 1, error: { code: 'E', message: 'one' } }))?.task.status).toBe('QUEUED');
    await claimAttempt(t.db, { taskId, attempt: 2, ...lease });
    const last = await failAttempt(t.db, { taskId, attempt: 2, error: { code: 'E', message: 'two' } });
    expect(last?.task).toMatchObject({ status: 'FAILED', error: { code: 'E', message: 'two' } });
    expect(last?.events.map((e) => e.type)).toEqual(['TASK_FAILED', 'JOB_STATUS_CHANGED']);
  });
});
