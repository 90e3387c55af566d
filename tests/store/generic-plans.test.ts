import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Db } from '../../src/store/database.js';
import { insertJob } from '../../src/store/insert-job.js';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from '../support/test-database.js';

let t: TestDatabase;
let one: Db;

beforeAll(async () => {
  t = await createTestDatabase();
  // One connection: the statements prepared on it are the ones pg_prepared_statements shows.
  one = createDatabase({ connectionString: TEST_DATABASE_URL, schema: t.schema, maxConnections: 1 });
});

afterAll(async () => {
  await one?.destroy();
  await t?.drop();
});

const submission = (tasks: number) => ({
  name: 'plans',
  queue: 'default',
  priority: 5,
  idempotencyKey: null,
  metadata: {},
  tasks: Array.from({ length: tasks }, (_, i) => ({
    key: null,
    type: 'demo.echo',
    queue: 'default',
    priority: 5,
    payload: { i },
    maxAttempts: 3,
    timeoutMs: null,
    runAt: new Date(),
  })),
});

describe('prepared statements', () => {
  it('run their generic plan from the first execution, never one planned with their values', async () => {
    expect((await sql<{ planCacheMode: string }>`show plan_cache_mode`.execute(one)).rows[0]?.planCacheMode).toBe('force_generic_plan');
    for (const size of [1, 50, 2, 300]) await insertJob(one, 'default', submission(size), new Date());
    const { rows } = await sql<{ genericPlans: number; customPlans: number }>`
      select generic_plans::int as "genericPlans", custom_plans::int as "customPlans" from pg_prepared_statements
      where statement like '/* prepared */%'`.execute(one);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toEqual({ genericPlans: 4, customPlans: 0 });
  });
});
