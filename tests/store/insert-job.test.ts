import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/database.js';
import { insertJob, type NewTask } from '../../src/store/insert-job.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

/**
 * insertJob sends the tasks as one array per column and zips them back into rows in SQL: every
 * field of every task must come back as given, in the plan PostgreSQL makes with the value and in
 * the generic plan a prepared statement moves to after five runs.
 */

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

const now = new Date('2026-06-01T12:00:00.000Z');
const later = new Date('2026-06-02T08:30:00.125Z');

const given: NewTask[] = [
  { key: null, type: 'demo.echo', queue: 'default', priority: 5, payload: null, maxAttempts: 3, timeoutMs: null, runAt: now },
  {
    key: 'quoted "key" \\ é 🐘',
    type: 'demo.echo',
    queue: 'other-queue',
    priority: 9,
    payload: { text: 'a "quote", a \\ backslash, a\nnewline, é 🐘', nested: [1, 2.5, null, { deep: true }] },
    maxAttempts: 7,
    timeoutMs: 1_500,
    backoff: { type: 'EXPONENTIAL', delayMs: 100, maxDelayMs: 2_000, jitter: 0.5 },
    runAt: later,
  },
  { key: 'second', dependsOn: [1], dependencyRank: 2, type: 'demo.sleep', queue: 'default', priority: 1, payload: 'just a string', maxAttempts: 1, timeoutMs: 60_000, runAt: now },
  { key: null, type: 'demo.echo', queue: 'default', priority: 5, payload: [], maxAttempts: 3, timeoutMs: null, backoff: null, runAt: now },
  { key: null, type: 'demo.echo', queue: 'default', priority: 5, payload: 0, maxAttempts: 3, timeoutMs: null, runAt: now },
];

async function insertAndReadBack(db: Db) {
  const { job } = await insertJob(db, 'default', { name: 'columns', queue: 'default', priority: 5, idempotencyKey: null, metadata: {}, tasks: given }, now);
  const { rows } = await sql<Record<string, unknown>>`
    select position, key, type, queue, priority, status, payload, max_attempts, timeout_ms, backoff, backoff is null as backoff_is_sql_null,
      run_at, dependency_count, pending_dependencies, dependant_count, dependency_rank
    from tasks where job_id = ${job.id} order by position`.execute(db);
  return rows;
}

const expected = given.map((task, position) => ({
  position,
  key: task.key,
  type: task.type,
  queue: task.queue,
  priority: task.priority,
  status: position === 2 ? 'BLOCKED' : position === 1 ? 'SCHEDULED' : 'QUEUED',
  payload: task.payload,
  maxAttempts: task.maxAttempts,
  timeoutMs: task.timeoutMs,
  backoff: task.backoff ?? null,
  backoffIsSqlNull: (task.backoff ?? null) === null,
  runAt: task.runAt,
  dependencyCount: position === 2 ? 1 : 0,
  pendingDependencies: position === 2 ? 1 : 0,
  dependantCount: position === 1 ? 1 : 0,
  dependencyRank: task.dependencyRank ?? position,
}));

describe('insertJob', () => {
  it('writes every field of every task as given', async () => {
    expect(await insertAndReadBack(t.db)).toEqual(expected);
  });

  it('writes the same rows in the generic plan of its prepared statement', async () => {
    const rows = await t.db.connection().execute(async (connection) => {
      await sql`set plan_cache_mode = force_generic_plan`.execute(connection);
      try {
        return await insertAndReadBack(connection);
      } finally {
        await sql`reset plan_cache_mode`.execute(connection);
      }
    });
    expect(rows).toEqual(expected);
  });
});
