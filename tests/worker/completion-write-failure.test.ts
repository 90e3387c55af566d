import pg from 'pg';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../../src/tasks/define-task.js';
import { waitFor } from '../support/jobql-process.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { TEST_DATABASE_URL } from '../support/test-database.js';

/**
 * A handler that succeeded, whose completion the store refused: its attempt is not failed with
 * the store's error. Its lease runs out, the reaper ends it (LEASE_EXPIRED), and the task runs again.
 */

let app: TestApp | undefined;
let admin: pg.Client | undefined;
afterEach(async () => {
  await admin?.end();
  await app?.stop();
  app = admin = undefined;
});

const succeeds = defineTask({ name: 'test.succeeds', payload: z.object({}), handler: () => ({ ok: true }) });

describe('a completion the store refuses', () => {
  it('leaves the attempt to its lease instead of failing it with the store error', { timeout: 30_000 }, async () => {
    app = await startTestApp({ env: { QUEUE_ADAPTER: 'memory', LEASE_MS: '1000', REAPER_INTERVAL_MS: '100' }, tasks: [succeeds] });
    admin = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path=${app.schema}` });
    await admin.connect();
    // A sequence counts the refusals: nextval survives the rollback of the refused write.
    await admin.query(`
      create sequence refusals;
      create function refuse_success() returns trigger language plpgsql as $$
        begin perform nextval('refusals'); raise exception 'completion refused'; end $$;
      create trigger refuse_success before update on tasks for each row
        when (old.status = 'RUNNING' and new.status = 'SUCCEEDED') execute function refuse_success();`);

    const job = await app.service.submitJob({ tenant: 'default' }, { name: 'refused', tasks: [{ type: 'test.succeeds', payload: {} }] });
    await waitFor(
      'a refused completion',
      async () => {
        const { rows } = await admin!.query<{ is_called: boolean }>('select is_called from refusals');
        return rows[0]?.is_called ? true : undefined;
      },
      20_000,
      20,
    );
    await admin.query('drop trigger refuse_success on tasks');

    await waitFor(
      'the job to succeed',
      async () => {
        const [stored] = await app!.service.jobsByIds({ tenant: 'default' }, [job.id]);
        return stored?.status === 'SUCCEEDED' ? stored : undefined;
      },
      20_000,
      20,
    );
    const { rows: attempts } = await sql<{ number: number; status: string; code: string | null }>`
      select a.number, a.status, a.error->>'code' as code from task_attempts a join tasks t on t.id = a.task_id
      where t.job_id = ${job.id} order by a.number`.execute(app.db);
    expect(attempts).toEqual([
      { number: 1, status: 'FAILED', code: 'LEASE_EXPIRED' },
      { number: 2, status: 'SUCCEEDED', code: null },
    ]);
  });
});
