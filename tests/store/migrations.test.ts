import { afterEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { migrateDownAll, migrateToLatest } from '../../src/store/migrator.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

let testDb: TestDatabase | undefined;

afterEach(async () => {
  await testDb?.drop();
});

async function tables(t: TestDatabase): Promise<string[]> {
  const result = await sql<{ name: string }>`
    select table_name as name from information_schema.tables where table_schema = ${t.schema} order by table_name`.execute(t.db);
  return result.rows.map((row) => row.name).filter((name) => !name.startsWith('kysely_'));
}

const TABLES = ['api_keys', 'job_events', 'jobs', 'queue_controls', 'queue_deliveries', 'rate_limits', 'schedules', 'signing_secrets', 'task_attempts', 'task_dependencies', 'tasks', 'workers'];

describe('migrations', () => {
  it('run up, down and up again on a fresh schema', async () => {
    testDb = await createTestDatabase({ migrate: false });
    await migrateToLatest(testDb.db, testDb.schema);
    expect(await tables(testDb)).toEqual(TABLES);
    await migrateDownAll(testDb.db, testDb.schema);
    expect(await tables(testDb)).toEqual([]);
    await migrateToLatest(testDb.db, testDb.schema);
    expect(await tables(testDb)).toEqual(TABLES);
    // Running again is a no-op.
    await migrateToLatest(testDb.db, testDb.schema);
  });

  it('checks the foreign keys to the job row at commit, not while a transaction still has to lock the job', async () => {
    testDb = await createTestDatabase({ migrate: false });
    await migrateToLatest(testDb.db, testDb.schema);
    const { rows } = await sql<{ name: string; deferred: boolean }>`
      select conname as name, condeferred as deferred from pg_constraint
      where contype = 'f' and confrelid = ${`"${testDb.schema}".jobs`}::regclass order by conname`.execute(testDb.db);
    expect(rows).toEqual([
      { name: 'job_events_job_id_fkey', deferred: true },
      { name: 'tasks_job_id_fkey', deferred: true },
    ]);
  });
});
