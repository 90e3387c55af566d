import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertJob } from '../../src/store/insert-job.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { claimAttempts } from '../../src/store/claim-attempts.js';
import { completeAttempts } from '../../src/store/complete-attempts.js';

/** Batches of claims and completions: each attempt fenced as if alone, the batch in a fixed number of statements. */

let t: TestDatabase;
let statements = 0;
beforeAll(async () => {
  t = await createTestDatabase({ onQuery: () => (statements += 1) });
});
afterAll(async () => {
  await t?.drop();
});

const worker = { workerId: 'w1', leaseMs: 60_000 };

/** `jobs` jobs of `size` tasks each; returns the task ids, job by job. */
async function jobs(count: number, size: number, runAt = new Date(Date.now() - 1_000)): Promise<string[][]> {
  const ids: string[][] = [];
  for (let j = 0; j < count; j++) {
    const { tasks } = await t.db.transaction().execute((trx) =>
      insertJob(
        trx,
        'default',
        {
          name: 'batch',
          queue: 'default',
          priority: 5,
          idempotencyKey: null,
          metadata: {},
          tasks: Array.from({ length: size }, (_, i) => ({ key: null, type: 'demo.echo', queue: 'default', priority: 5, payload: i, maxAttempts: 3, timeoutMs: null, runAt })),
        },
        new Date(Date.now() - 2_000),
      ),
    );
    ids.push([...tasks].sort((a, b) => a.position - b.position).map((task) => task.id));
  }
  return ids;
}

async function counted<T>(work: () => Promise<T>): Promise<{ value: T; statements: number }> {
  const before = statements;
  const value = await work();
  return { value, statements: statements - before };
}

describe('claimAttempts', () => {
  it('claims every ref that matches its task and leaves out the stale, the duplicate and the not yet due', async () => {
    const [[a, b, c], [d]] = (await jobs(2, 3)) as [[string, string, string], [string]];
    const [[later]] = (await jobs(1, 1, new Date(Date.now() + 60_000))) as [[string]];
    const { tasks, events } = await claimAttempts(
      t.db,
      [
        { taskId: a, attempt: 1 },
        { taskId: b, attempt: 2 }, // stale: its first attempt has not run
        { taskId: c, attempt: 1 },
        { taskId: a, attempt: 1 }, // the same delivery twice
        { taskId: d, attempt: 1 },
        { taskId: later, attempt: 1 }, // SCHEDULED, not due
      ],
      worker,
    );
    expect([...tasks.keys()].sort()).toEqual([a, c, d].sort());
    for (const task of tasks.values()) expect(task).toMatchObject({ status: 'RUNNING', attempt: 1, workerId: 'w1' });
    expect(events.filter((event) => event.type === 'TASK_STARTED').map((event) => event.taskId).sort()).toEqual([a, c, d].sort());
    // Each job's events are numbered on from its own, in order.
    const seqs = (jobId: string) => events.filter((event) => event.jobId === jobId).map((event) => event.seq);
    for (const jobId of new Set(events.map((event) => event.jobId))) expect(seqs(jobId)).toEqual([...seqs(jobId)].sort((x, y) => x - y));
    const attempts = await t.db.selectFrom('taskAttempts').select(['taskId', 'number', 'status']).where('taskId', 'in', [a, b, c, d]).execute();
    expect(attempts).toHaveLength(3);
    // A second batch of the same refs claims nothing.
    expect((await claimAttempts(t.db, [{ taskId: a, attempt: 1 }, { taskId: d, attempt: 1 }], worker)).tasks.size).toBe(0);
  });

  it('writes a batch of 40 claims over 20 jobs in the same number of statements as a batch of one', async () => {
    const [[one]] = (await jobs(1, 1)) as [[string]];
    const single = await counted(() => claimAttempts(t.db, [{ taskId: one, attempt: 1 }], worker));
    const many = (await jobs(20, 2)).flat();
    const batch = await counted(() => claimAttempts(t.db, many.map((taskId) => ({ taskId, attempt: 1 })), worker));
    expect(batch.value.tasks.size).toBe(40);
    expect(batch.statements).toBe(single.statements);
    const jobIds = [...new Set([...batch.value.tasks.values()].map((task) => task.jobId))];
    const jobsAfter = await t.db.selectFrom('jobs').select(['status', 'runningCount', 'queuedCount']).where('id', 'in', jobIds).execute();
    expect(jobsAfter).toEqual(jobIds.map(() => ({ status: 'RUNNING', runningCount: 2, queuedCount: 0 })));
  });
});

describe('completeAttempts', () => {
  it('completes the running attempts of a batch, fenced, keeps each result, and ends each job', async () => {
    const [[a, b], [c]] = (await jobs(2, 2).then((two) => [two[0], [two[1]![0]]])) as [[string, string], [string]];
    await claimAttempts(t.db, [a, b, c].map((taskId) => ({ taskId, attempt: 1 })), worker);
    const done = await counted(() =>
      completeAttempts(t.db, [
        { taskId: a, attempt: 1, resultJson: '{"a":1}', finishedAt: new Date(), hasDependants: false },
        { taskId: b, attempt: 1, resultJson: 'null', finishedAt: new Date(), hasDependants: false },
        { taskId: c, attempt: 2, resultJson: '"stale"', finishedAt: new Date(), hasDependants: false }, // not its running attempt
      ]),
    );
    expect([...done.value.tasks.keys()].sort()).toEqual([a, b].sort());
    const rows = await t.db.selectFrom('tasks').select(['id', 'status', 'result', 'progressUnits']).where('id', 'in', [a, b, c]).execute();
    const byId = new Map(rows.map((row) => [row.id, row]));
    expect(byId.get(a)).toMatchObject({ status: 'SUCCEEDED', result: { a: 1 }, progressUnits: 1_000_000 });
    expect(byId.get(b)).toMatchObject({ status: 'SUCCEEDED', result: null });
    expect(byId.get(c)?.status).toBe('RUNNING');
    const types = done.value.events.map((event) => event.type);
    expect(types.filter((type) => type === 'TASK_SUCCEEDED')).toHaveLength(2);
    expect(types).toContain('JOB_PROGRESS');
    expect(types).toContain('JOB_STATUS_CHANGED');
    const attempts = await t.db.selectFrom('taskAttempts').select(['taskId', 'status', 'finishedAt']).where('taskId', 'in', [a, b]).execute();
    expect(attempts.every((attempt) => attempt.status === 'SUCCEEDED' && attempt.finishedAt !== null)).toBe(true);
  });
});
