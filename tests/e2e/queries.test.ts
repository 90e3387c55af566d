import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execute } from '../support/graphql-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { JobEvents, ListJobs, NodeById, SubmitJob } from '../graphql/operations.js';

let app: TestApp;
let statements = 0;
const PARKED = 'parked';

beforeAll(async () => {
  // API only: no worker polls or reaps, so every statement counted comes from the requests. The
  // event bus's NOTIFYs for the setup's submits go out after they answer and are not counted.
  app = await startTestApp({ role: 'api', onQuery: (event) => void (/pg_notify/.test(event.query.sql) ? 0 : (statements += 1)) });
  for (let i = 0; i < 60; i++) {
    const { submitJob } = await execute(app.url, SubmitJob, {
      input: {
        name: i % 2 === 0 ? 'even' : 'odd',
        queue: PARKED,
        tasks: [
          { type: 'demo.echo', payload: i },
          { type: 'demo.echo', payload: i + 1 },
          { type: 'demo.sleep', payload: {} },
        ],
      },
    });
    if (submitJob.__typename !== 'SubmitJobSuccess') throw new Error('setup failed');
  }
});

afterAll(async () => {
  await app?.stop();
});

async function countStatements<T>(run: () => Promise<T>): Promise<{ result: T; count: number }> {
  const start = statements;
  const result = await run();
  return { result, count: statements - start };
}

describe('reads', () => {
  it('jobs(first: N) { tasks } costs the same few SQL statements for 5 jobs as for 50', async () => {
    const few = await countStatements(() => execute(app.url, ListJobs, { first: 5, queue: PARKED }));
    const many = await countStatements(() => execute(app.url, ListJobs, { first: 50, queue: PARKED }));
    expect(few.result.jobs.edges).toHaveLength(5);
    expect(many.result.jobs.edges).toHaveLength(50);
    expect(many.result.jobs.edges.every((e) => e.node.tasks.edges.length === 3)).toBe(true);
    // One page of jobs, one batch of task pages.
    expect(many.count).toBe(2);
    expect(few.count).toBe(many.count);
  });

  it('pages newest first with cursors, forwards and backwards, without overlap', async () => {
    const seen: string[] = [];
    let after: string | null | undefined;
    for (;;) {
      const { jobs } = await execute(app.url, ListJobs, { first: 25, queue: PARKED, ...(after ? { after } : {}) });
      seen.push(...jobs.edges.map((e) => e.node.id));
      if (!jobs.pageInfo.hasNextPage) break;
      after = jobs.pageInfo.endCursor;
    }
    expect(seen).toHaveLength(60);
    expect(new Set(seen).size).toBe(60);

    const firstPage = await execute(app.url, ListJobs, { first: 10, queue: PARKED });
    const back = await execute(app.url, ListJobs, { last: 5, before: firstPage.jobs.pageInfo.endCursor ?? '', queue: PARKED });
    expect(back.jobs.edges.map((e) => e.node.id)).toEqual(firstPage.jobs.edges.slice(4, 9).map((e) => e.node.id));
  });

  it('filters by name, queue and status', async () => {
    const even = await execute(app.url, ListJobs, { first: 100, name: 'even' });
    expect(even.jobs.edges).toHaveLength(30);
    expect(even.jobs.edges.every((e) => e.node.name === 'even')).toBe(true);
    expect((await execute(app.url, ListJobs, { first: 100, status: ['QUEUED'], queue: PARKED })).jobs.edges).toHaveLength(60);
    expect((await execute(app.url, ListJobs, { first: 100, status: ['SUCCEEDED', 'FAILED'], queue: PARKED })).jobs.edges).toHaveLength(0);
    expect((await execute(app.url, ListJobs, { first: 100, queue: 'elsewhere' })).jobs.edges).toHaveLength(0);
  });

  it('node(id) resolves jobs and tasks by global ID', async () => {
    const { jobs } = await execute(app.url, ListJobs, { first: 1, queue: PARKED });
    const job = jobs.edges[0]?.node;
    const task = job?.tasks.edges[0]?.node;
    expect((await execute(app.url, NodeById, { id: job?.id ?? '' })).node).toMatchObject({ __typename: 'Job', id: job?.id, name: job?.name });
    expect((await execute(app.url, NodeById, { id: task?.id ?? '' })).node).toMatchObject({ __typename: 'Task', type: 'demo.echo' });
  });

  it('Job.events pages through the event log in order', async () => {
    const { jobs } = await execute(app.url, ListJobs, { first: 1, queue: PARKED });
    const id = jobs.edges[0]?.node.id ?? '';
    const first = await execute(app.url, JobEvents, { id, first: 2 });
    const rest = await execute(app.url, JobEvents, { id, first: 10, after: first.job?.events.pageInfo.endCursor ?? '' });
    const types = [...(first.job?.events.edges ?? []), ...(rest.job?.events.edges ?? [])].map((e) => [e.node.seq, e.node.type]);
    expect(types).toEqual([
      [1, 'TASK_QUEUED'],
      [2, 'TASK_QUEUED'],
      [3, 'TASK_QUEUED'],
      [4, 'JOB_STATUS_CHANGED'],
    ]);
    expect(rest.job?.events.pageInfo.hasNextPage).toBe(false);
  });
});
