import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as entry from '../../src/index.js';
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

  it('is the package `jobql`: its exports name the built entry, which node loads by name', async () => {
    if (!built) throw new Error('the build did not run');
    const manifest = JSON.parse(await readFile(path.join(import.meta.dirname, '../../package.json'), 'utf8')) as {
      name: string;
      exports: { '.': { types: string; default: string } };
    };
    // The build directory is laid out as dist/ is: the same package, its paths without `dist/`.
    const inBuild = (file: string): string => file.replace(/^\.\/dist\//, './');
    const main = manifest.exports['.'];
    await writeFile(
      path.join(built.dir, 'package.json'),
      JSON.stringify({ name: manifest.name, type: 'module', exports: { '.': { types: inBuild(main.types), default: inBuild(main.default) } } }),
    );
    await readFile(path.join(built.dir, inBuild(main.types)));
    const script = path.join(built.dir, 'names.mjs');
    await writeFile(script, `const jobql = await import(${JSON.stringify(manifest.name)}); console.log(JSON.stringify(Object.keys(jobql).sort()));`);
    const { stdout } = await promisify(execFile)(process.execPath, [script], { cwd: built.dir });
    expect(JSON.parse(stdout)).toEqual(Object.keys(entry).sort());
  });
});
