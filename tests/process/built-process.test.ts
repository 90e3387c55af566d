import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetJob, SubmitJob } from '../graphql/operations.js';
import { buildJobQl, type BuiltJobQl } from '../../bench/lib/built-jobql.js';
import { execute } from '../support/graphql-client.js';
import { killAllJobQlProcesses, startJobQlProcess, waitFor } from '../support/jobql-process.js';
import { loadedPackagesOf, RECORD_LOADED_PACKAGES } from '../support/loaded-packages.js';
import { dropSchema, newSchemaName, TEST_DATABASE_URL } from '../support/test-database.js';

/**
 * The production build (`npm run build`, run with plain node): it migrates, serves GraphQL and runs
 * tasks on the main thread and in a handler thread (demo.crunch is isolated), with its lease-keeper
 * thread, all from the emitted JavaScript and without tsx.
 */

let built: BuiltJobQl | undefined;
const schema = newSchemaName('built');
beforeAll(async () => {
  built = await buildJobQl();
}, 120_000);
afterAll(async () => {
  killAllJobQlProcesses();
  await built?.remove();
  await dropSchema(schema);
});

describe('the built JavaScript', () => {
  it('runs a job end to end with node alone', async () => {
    if (!built) throw new Error('the build did not run');
    const env = { DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: schema, QUEUE_ADAPTER: 'postgres', WORKER_CONCURRENCY: '2' };
    const running = await startJobQlProcess('all', env, { builtIn: built, nodeArgs: RECORD_LOADED_PACKAGES });
    const { submitJob } = await execute(running.url, SubmitJob, {
      input: {
        name: 'built',
        tasks: [
          { type: 'demo.echo', payload: { hello: 'built' } },
          { type: 'demo.crunch', payload: { ms: 20 } },
        ],
      },
    });
    if (submitJob.__typename !== 'SubmitJobSuccess') throw new Error(`submit failed: ${submitJob.__typename}`);
    const job = await waitFor(
      'the job to succeed',
      async () => {
        const { job } = await execute(running.url, GetJob, { id: submitJob.job.id });
        return job?.status === 'SUCCEEDED' || job?.status === 'FAILED' ? job : undefined;
      },
      30_000,
    );
    expect(job.tasks.edges.map((edge) => [edge.node.type, edge.node.status])).toEqual([
      ['demo.echo', 'SUCCEEDED'],
      ['demo.crunch', 'SUCCEEDED'],
    ]);
    const loaded = await loadedPackagesOf(running);
    expect(loaded).toEqual(expect.arrayContaining(['graphql', 'kysely', 'pg']));
    expect(loaded).not.toContain('tsx');
  });
});
