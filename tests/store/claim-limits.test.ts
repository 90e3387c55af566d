import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimAttempts } from '../../src/store/claim-attempts.js';
import { insertJob, type NewTask } from '../../src/store/insert-job.js';
import { setRateLimit } from '../../src/store/rate-limits.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

/** The claim's limits, statement by statement: what a rate limit and a concurrency key admit, hold and park. */

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

const worker = { workerId: 'w1', leaseMs: 60_000 };

async function tasksOf(queue: string, count: number, extra: Partial<NewTask> = {}): Promise<string[]> {
  const runAt = new Date(Date.now() - 3_000);
  const task: NewTask = { key: null, type: 'demo.echo', queue, priority: 5, payload: 1, maxAttempts: 3, timeoutMs: null, runAt, ...extra };
  const { tasks } = await insertJob(t.db, 'default', { name: queue, queue, priority: 5, idempotencyKey: null, metadata: {}, tasks: Array.from({ length: count }, () => task) }, new Date(Date.now() - 2_000));
  return [...tasks].sort((a, b) => a.position - b.position).map((written) => written.id);
}

const state = async (ids: readonly string[]) =>
  (await sql<{ id: string; status: string; parked: boolean; runAt: Date }>`
    select id, status, parked_at is not null as parked, run_at from tasks where id = any(${ids}::uuid[]) order by position`.execute(t.db)).rows;

describe('the claim under limits', () => {
  it('judges a task once when its delivery comes twice, and counts one start against the rate limit', async () => {
    await setRateLimit(t.db, { scope: 'QUEUE', name: 'limited', maxStarts: 1, intervalMs: 60_000, setBy: 'test' });
    const [a, b] = (await tasksOf('limited', 2)) as [string, string];
    const batch = await claimAttempts(t.db, [{ taskId: a, attempt: 1 }, { taskId: a, attempt: 1 }, { taskId: b, attempt: 1 }], worker);
    expect([...batch.tasks.keys()]).toEqual([a]);
    expect([...batch.held.keys()]).toEqual([b]);
    const [first, second] = await state([a, b]);
    expect(first?.status).toBe('RUNNING');
    expect(second).toMatchObject({ status: 'QUEUED', parked: false });
    expect(second!.runAt.getTime()).toBeGreaterThan(Date.now());
    const { rows } = await sql<{ used: number; attempts: number }>`
      select (select used from rate_limits where name = 'limited') as used,
        (select count(*)::int from task_attempts where task_id = ${a}) as attempts`.execute(t.db);
    expect(rows[0]).toEqual({ used: 1, attempts: 1 });
  });

  it('admits what a key has room for, parks the rest with no instant to come back at, and counts the running ones', async () => {
    const [a, b, c] = (await tasksOf('keyed', 3, { concurrencyKey: 'k', concurrencyLimit: 2 })) as [string, string, string];
    const first = await claimAttempts(t.db, [{ taskId: a, attempt: 1 }, { taskId: a, attempt: 1 }, { taskId: b, attempt: 1 }, { taskId: c, attempt: 1 }], worker);
    expect([...first.tasks.keys()].sort()).toEqual([a, b].sort());
    expect(first.held.size).toBe(0);
    expect((await state([a, b, c])).map((task) => [task.status, task.parked])).toEqual([
      ['RUNNING', false],
      ['RUNNING', false],
      ['QUEUED', true],
    ]);
    // A claim of its own later still finds the key full: its two attempts run on.
    await sql`update tasks set parked_at = null where id = ${c}`.execute(t.db);
    const again = await claimAttempts(t.db, [{ taskId: c, attempt: 1 }], worker);
    expect(again.tasks.size).toBe(0);
    expect((await state([c]))[0]?.parked).toBe(true);
  });
});
