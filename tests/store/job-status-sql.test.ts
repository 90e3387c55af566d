import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { deriveJobStatus, TASK_STATUSES, type TaskStatus } from '../../src/domain/state-machine.js';
import { jobStatusSql } from '../../src/store/job-status-sql.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

/** Every assignment of 0, 1 or 2 tasks to each status but the empty job. */
function allCountMixes(): Record<TaskStatus, number>[] {
  const mixes: Record<TaskStatus, number>[] = [];
  const total = 3 ** TASK_STATUSES.length;
  for (let code = 1; code < total; code += 1) {
    let rest = code;
    const counts = {} as Record<TaskStatus, number>;
    for (const status of TASK_STATUSES) {
      counts[status] = rest % 3;
      rest = Math.floor(rest / 3);
    }
    mixes.push(counts);
  }
  return mixes;
}

describe('the job status in SQL', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase({ migrate: false });
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('is deriveJobStatus for every mix of task counts', async () => {
    const mixes = allCountMixes();
    const column = (status: TaskStatus): number[] => mixes.map((counts) => counts[status]);
    const names = TASK_STATUSES.map((status) => status.toLowerCase());
    const { rows } = await sql<{ n: number; status: string }>`
      select m.n::int as n, ${jobStatusSql((status) => sql.ref(`m.${status.toLowerCase()}`))} as status
      from unnest(${sql.join(TASK_STATUSES.map((status) => sql`${column(status)}::int[]`))})
        with ordinality as m(${sql.join(names.map((name) => sql.ref(name)))}, n)`.execute(database.db);
    expect(rows).toHaveLength(mixes.length);
    const mismatches = rows.filter((row) => row.status !== deriveJobStatus(mixes[row.n - 1]!));
    expect(mismatches).toEqual([]);
  });
});
