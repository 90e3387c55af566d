import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../../src/tasks/define-task.js';
import { waitFor } from '../support/jobql-process.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * On the postgres adapter a delivery's claim also claims its attempt, in one statement: no
 * attempt claim of its own. The attempts stay fenced: a delivery of a finished task, or of an
 * attempt that is not the next, takes nothing and runs nothing, and is acknowledged.
 */

let app: TestApp | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

let runs = 0;
const counted = defineTask({
  name: 'test.counted',
  payload: z.object({ n: z.number() }),
  handler: () => {
    runs += 1;
  },
});

describe('the attempt claim in the delivery claim (postgres adapter)', () => {
  it('claims each attempt in the statement that claims its delivery, and fences stale deliveries out', { timeout: 60_000 }, async () => {
    const attemptClaims: string[] = [];
    app = await startTestApp({
      env: { QUEUE_ADAPTER: 'postgres', WORKER_CONCURRENCY: '2' },
      tasks: [counted],
      onQuery: (event) => {
        if (/update tasks set status = 'RUNNING'/.test(event.query.sql)) attemptClaims.push(event.query.sql);
      },
    });
    const status = async (jobId: string): Promise<string | undefined> => (await app!.service.jobsByIds({ tenant: 'default' }, [jobId]))[0]?.status;
    const JOBS = 30;
    const jobs = [];
    for (let n = 0; n < JOBS; n++) jobs.push(await app.service.submitJob({ tenant: 'default' }, { name: `counted ${n}`, tasks: [{ type: 'test.counted', payload: { n } }] }));
    for (const job of jobs) await waitFor(`job ${job.name}`, async () => ((await status(job.id)) === 'SUCCEEDED' ? true : undefined), 20_000, 20);

    expect(runs).toBe(JOBS);
    expect(attemptClaims.length).toBeGreaterThan(0);
    expect(attemptClaims.filter((text) => !/update queue_deliveries/.test(text))).toEqual([]);
    const { rows: attempts } = await sql<{ n: string }>`select count(*) as n from task_attempts where status = 'SUCCEEDED'`.execute(app.db);
    expect(Number(attempts[0]?.n)).toBe(JOBS);

    // Deliveries no claim may take: attempt 1 of a finished task, and attempt 3 of one with one attempt behind it.
    const [first] = jobs;
    const { rows: tasks } = await sql<{ id: string }>`select id from tasks where job_id = ${first!.id}`.execute(app.db);
    const taskId = tasks[0]!.id;
    await sql`
      insert into queue_deliveries (task_id, attempt, queue, priority, run_at)
      values (${taskId}, 1, 'default', 5, now()), (${taskId}, 3, 'default', 5, now())`.execute(app.db);
    await waitFor(
      'the stale deliveries to be taken and acknowledged',
      async () => {
        const { rows } = await sql<{ n: string }>`select count(*) as n from queue_deliveries`.execute(app!.db);
        return Number(rows[0]?.n) === 0 ? true : undefined;
      },
      10_000,
      50,
    );
    expect(runs).toBe(JOBS);
    const { rows: after } = await sql<{ status: string; attempt: number; attempts: string }>`
      select t.status, t.attempt, (select count(*) from task_attempts a where a.task_id = t.id) as attempts
      from tasks t where t.id = ${taskId}`.execute(app.db);
    expect(after).toEqual([{ status: 'SUCCEEDED', attempt: 1, attempts: '1' }]);
  });
});
