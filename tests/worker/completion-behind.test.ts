import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTask } from '../../src/tasks/define-task.js';
import { waitFor } from '../support/jobql-process.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { TEST_DATABASE_URL } from '../support/test-database.js';

/**
 * A slot is free once its handler has returned: the next delivery runs while the outcome is
 * written. At most as many outcomes as there are slots wait unwritten; past that a slot waits too.
 * The test holds a lock on the first task's row, so its completion cannot commit.
 */

let app: TestApp | undefined;
let admin: pg.Client | undefined;
afterEach(async () => {
  await admin?.query('rollback').catch(() => {});
  await admin?.end();
  await app?.stop();
  app = admin = undefined;
});

const started: number[] = [];
const gates = new Map<number, () => void>();
const gated = defineTask({
  name: 'test.gated',
  payload: z.object({ n: z.number() }),
  handler: async ({ payload }) => {
    started.push(payload.n);
    await new Promise<void>((resolve) => gates.set(payload.n, resolve));
    return { n: payload.n };
  },
});

describe('a completion written behind its slot', () => {
  it('runs the next delivery while the last outcome is written, and holds a slot once outcomes back up', { timeout: 30_000 }, async () => {
    // A long lease: the held row lock also holds up lease renewals, and nothing may be reaped.
    app = await startTestApp({ env: { QUEUE_ADAPTER: 'memory', WORKER_CONCURRENCY: '1', LEASE_MS: '30000' }, tasks: [gated] });
    admin = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path=${app.schema}` });
    await admin.connect();
    const submit = (n: number) => app!.service.submitJob({ tenant: 'default' }, { name: `gated ${n}`, tasks: [{ type: 'test.gated', payload: { n } }] });
    const status = async (jobId: string): Promise<string | undefined> => (await app!.service.jobsByIds({ tenant: 'default' }, [jobId]))[0]?.status;
    const startedAt = (n: number) => waitFor(`handler ${n} to start`, async () => (started.includes(n) && gates.has(n) ? true : undefined), 10_000, 10);

    const first = await submit(1);
    await startedAt(1);
    await admin.query('begin');
    await admin.query('select 1 from tasks where job_id = $1 for update', [first.id]);
    const second = await submit(2);
    const third = await submit(3);

    gates.get(1)?.();
    await startedAt(2);
    expect(await status(first.id)).toBe('RUNNING');

    // Two outcomes unwritten with one slot: the third waits for the first to be written.
    gates.get(2)?.();
    await sleep(500);
    expect(started).toEqual([1, 2]);
    expect(await status(second.id)).toBe('RUNNING');

    await admin.query('commit');
    await startedAt(3);
    gates.get(3)?.();
    for (const job of [first, second, third]) {
      await waitFor(`job ${job.name} to succeed`, async () => ((await status(job.id)) === 'SUCCEEDED' ? true : undefined), 10_000, 20);
    }
    expect(started).toEqual([1, 2, 3]);
  });
});
