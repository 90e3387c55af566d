import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { NonRetryableError } from '../../src/errors/index.js';
import { defineTask } from '../../src/tasks/define-task.js';
import { waitFor } from '../support/jobql-process.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/** An attempt's log lines, the handler's and the worker's, name the job, task, attempt and worker. */

let app: TestApp | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

const talks = defineTask({
  name: 'test.talks',
  payload: z.object({ word: z.string() }),
  handler: ({ payload, log }) => {
    log.info({ word: payload.word }, 'the handler speaks');
    return null;
  },
});
const refuses = defineTask({
  name: 'test.refuses',
  payload: z.object({}),
  handler: () => {
    throw new NonRetryableError('no, never');
  },
});

describe("an attempt's logger", () => {
  it("binds the job, task, attempt and worker to the handler's lines and to the worker's own", { timeout: 30_000 }, async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info', base: undefined, timestamp: false }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    app = await startTestApp({ env: { QUEUE_ADAPTER: 'memory' }, tasks: [talks, refuses], logger });
    const job = await app.service.submitJob({ tenant: 'default' }, {
      name: 'logged',
      tasks: [
        { type: 'test.talks', payload: { word: 'hello' } },
        { type: 'test.refuses', payload: {}, maxAttempts: 1 },
      ],
    });
    const [stored] = await waitFor(
      'the job to end',
      async () => {
        const jobs = await app!.service.jobsByIds({ tenant: 'default' }, [job.id]);
        return jobs[0]?.status === 'PARTIALLY_SUCCEEDED' ? jobs : undefined;
      },
      20_000,
      20,
    );
    expect(stored?.status).toBe('PARTIALLY_SUCCEEDED');
    const tasks = await app.db.selectFrom('tasks').select(['id', 'type']).where('jobId', '=', job.id).execute();
    const idOf = (type: string): string | undefined => tasks.find((task) => task.type === type)?.id;

    const spoke = lines.find((line) => line['msg'] === 'the handler speaks');
    expect(spoke).toMatchObject({ word: 'hello', jobId: job.id, taskId: idOf('test.talks'), attempt: 1, workerId: expect.any(String) });
    const failed = lines.find((line) => line['msg'] === 'attempt failed');
    expect(failed).toMatchObject({ jobId: job.id, taskId: idOf('test.refuses'), attempt: 1, workerId: spoke?.['workerId'] });
  });
});
