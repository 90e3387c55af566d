import { afterAll, describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import * as jobql from '../../src/index.js';
import { defineTask, loadConfig, startJobQl, type JobEvent, type JobQl } from '../../src/index.js';
import { dropSchema, newSchemaName, TEST_DATABASE_URL } from '../support/test-database.js';

/** The package's entry (`jobql`, src/index.ts): what it exports, and the README's library example run through it. */

const schema = newSchemaName('lib');
let app: JobQl | undefined;
afterAll(async () => {
  await app?.stop();
  await dropSchema(schema);
});

describe('the public entry point', () => {
  it('exports the values a user needs, and nothing else', () => {
    expect(Object.keys(jobql).sort()).toEqual(
      [
        'AccessService',
        'AuthorizationError',
        'DEFAULT_TENANT',
        'SCOPES',
        'UnauthenticatedError',
        'EVENT_TYPES',
        'IdempotencyConflictError',
        'InvalidStateError',
        'JOB_STATUSES',
        'JobQlError',
        'JobService',
        'NonRetryableError',
        'NotFoundError',
        'TASK_STATUSES',
        'TaskAbortedError',
        'ValidationError',
        'configSchema',
        'defineSchedule',
        'defineTask',
        'loadConfig',
        'rollUpJobProgress',
        'startJobQl',
      ].sort(),
    );
  });

  it('runs the README example: a task type, a process, a job watched to its end', async () => {
    const resizeImage = defineTask({
      name: 'images.resize',
      payload: z.object({ url: z.string().url(), width: z.number().int().positive() }),
      queue: 'images',
      async handler({ payload, progress }) {
        expectTypeOf(payload).toEqualTypeOf<{ url: string; width: number }>();
        await progress(1, 2, 'downloading');
        await progress(2, 2, 'done');
        return { width: payload.width };
      },
    });
    const config = loadConfig({ DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: schema, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' });
    app = await startJobQl({ config, tasks: [resizeImage] });
    const job = await app.service.submitJob({ tenant: 'default' }, {
      name: 'thumbnail',
      tasks: [{ type: 'images.resize', payload: { url: 'https://example.com/a.png', width: 64 } }],
    });
    const seen: JobEvent[] = [];
    for await (const event of app.service.watchJob({ tenant: 'default' }, job.id)) seen.push(event);
    expect(seen.filter((event) => event.type === 'TASK_PROGRESS').map((event) => event.data.progress?.message)).toEqual(['downloading', 'done']);
    expect(seen.at(-1)?.data.jobStatus).toBe('SUCCEEDED');
    const [task] = await app.service.tasksByIds({ tenant: 'default' }, (await app.service.taskPages({ tenant: 'default' }, [{ jobId: job.id, offset: 0, limit: 1 }])).map((t) => t.id));
    expect(task?.result).toEqual({ width: 64 });
  });
});
