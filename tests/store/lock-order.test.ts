import pg from 'pg';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertJob } from '../../src/store/insert-job.js';
import { waitFor } from '../support/jobql-process.js';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from '../support/test-database.js';
import { renewLeases } from '../support/attempt-writes.js';

/**
 * Every write that locks several of a job's tasks locks them in rank order, whatever order the
 * table holds them in: two such writes over the same tasks then wait for each other, never deadlock.
 */

let t: TestDatabase;
const clients: pg.Client[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
});

afterAll(async () => {
  for (const client of clients) await client.end().catch(() => {});
  await t?.drop();
});

async function session(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path=${t.schema}` });
  await client.connect();
  clients.push(client);
  return client;
}

/** Two RUNNING tasks of one job, held by `workerId`; the first stored ranks last. */
async function twoRunningTasksRankedAgainstTableOrder(workerId: string): Promise<{ storedFirst: string; rankedFirst: string }> {
  const now = new Date();
  const task = { key: null, type: 'demo.echo', queue: 'default', priority: 5, payload: 1, maxAttempts: 3, timeoutMs: null, runAt: now };
  const { tasks } = await insertJob(
    t.db,
    'default',
    { name: 'lock order', queue: 'default', priority: 5, idempotencyKey: null, metadata: {}, tasks: [task, task] },
    now,
  );
  const [storedFirst, rankedFirst] = [tasks[0]!.id, tasks[1]!.id];
  await sql`update tasks set status = 'RUNNING', attempt = 1, worker_id = ${workerId},
      dependency_rank = case when id = ${storedFirst}::uuid then 1 else 0 end
    where id in (${storedFirst}::uuid, ${rankedFirst}::uuid)`.execute(t.db);
  return { storedFirst, rankedFirst };
}

/** Until a statement like `marker` waits for a lock. */
function waitUntilBlocked(marker: string): Promise<true> {
  return waitFor(
    `a statement like ${marker} to wait for a lock`,
    async () => {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
        where wait_event_type = 'Lock' and query like ${`%${marker}%`} and pid <> pg_backend_pid()`.execute(t.db);
      return rows[0]!.n > 0 ? true : undefined;
    },
    2_000,
    10,
  );
}

describe('lock order', () => {
  it('renews leases locking the tasks in rank order, not in the order the table holds them', async () => {
    const { storedFirst, rankedFirst } = await twoRunningTasksRankedAgainstTableOrder('w-lock-order');
    const holder = await session();
    await holder.query('begin');
    await holder.query('select 1 from tasks where id = $1 for update', [rankedFirst]);

    const renewal = renewLeases(t.db, {
      workerId: 'w-lock-order',
      attempts: [
        { taskId: storedFirst, attempt: 1 },
        { taskId: rankedFirst, attempt: 1 },
      ],
      leaseMs: 60_000,
    });
    await waitUntilBlocked('lease_expires_at');

    // The renewal waits for the first task in rank order and has locked nothing after it.
    const probe = await session();
    await probe.query('begin');
    await expect(probe.query('select 1 from tasks where id = $1 for update nowait', [storedFirst])).resolves.toBeDefined();
    await probe.query('rollback');

    await holder.query('rollback');
    expect((await renewal).map((ref) => ref.taskId).sort()).toEqual([storedFirst, rankedFirst].sort());
  });
});
