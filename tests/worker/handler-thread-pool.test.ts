import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { TaskAbortedError } from '../../src/errors/index.js';
import { HandlerThreadPool, type IsolatedRunHooks } from '../../src/worker/handler-thread-pool.js';

const MODULE = new URL('./fixtures/thread-tasks.ts', import.meta.url).href;

let pool: HandlerThreadPool;
afterEach(async () => {
  await pool?.close();
});

function request(taskType: string, payload: unknown = null) {
  return { module: MODULE, taskType, taskId: 't1', jobId: 'j1', tenant: 'default', attempt: 1, payload, dependencies: {} };
}

function hooks(lines: Record<string, unknown>[] = [], reports: unknown[] = []): IsolatedRunHooks {
  const log = pino({ level: 'info', base: undefined, timestamp: false }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return {
    log,
    progress: async (current, total, message) => {
      reports.push({ current, total, message });
    },
  };
}

describe('HandlerThreadPool', () => {
  it('runs attempts one after another on the same thread, and on a new one after a terminate', async () => {
    pool = new HandlerThreadPool({ maxIdle: 1, logLevel: 'info' });
    const first = (await pool.run(request('thread.which'), hooks()).done) as { threadId: number };
    const second = (await pool.run(request('thread.which'), hooks()).done) as { threadId: number };
    expect(second.threadId).toBe(first.threadId);

    const stuck = pool.run(request('thread.waits-for-abort'), hooks());
    await stuck.terminate();
    await expect(stuck.done).rejects.toMatchObject({ code: 'ISOLATED_THREAD_EXITED' });
    const third = (await pool.run(request('thread.which'), hooks()).done) as { threadId: number };
    expect(third.threadId).not.toBe(first.threadId);
  });

  it('keeps no more idle threads than maxIdle', async () => {
    pool = new HandlerThreadPool({ maxIdle: 1, logLevel: 'info' });
    const [a, b] = (await Promise.all([pool.run(request('thread.which'), hooks()).done, pool.run(request('thread.which'), hooks()).done])) as {
      threadId: number;
    }[];
    expect(a?.threadId).not.toBe(b?.threadId);
    const next = (await pool.run(request('thread.which'), hooks()).done) as { threadId: number };
    expect([a?.threadId, b?.threadId]).toContain(next.threadId);
  });

  it('fires the signal in the thread with the abort reason, code and all', async () => {
    pool = new HandlerThreadPool({ maxIdle: 1, logLevel: 'info' });
    const lines: Record<string, unknown>[] = [];
    const run = pool.run(request('thread.waits-for-abort'), hooks(lines));
    // The handler logs once it waits: then the abort cannot arrive before its listener.
    for (let i = 0; i < 200 && lines.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    run.abort(new TaskAbortedError('TIMEOUT', 'Attempt timed out after 5 ms'));
    await expect(run.done).rejects.toMatchObject({ name: 'TaskAbortedError', code: 'TIMEOUT', message: 'Attempt timed out after 5 ms' });
    expect(lines).toEqual([{ level: 40, waiting: true, msg: 'waiting for the signal' }]);
  });

  it('carries every progress report to the worker and waits for each to be written', async () => {
    pool = new HandlerThreadPool({ maxIdle: 1, logLevel: 'info' });
    const reports: unknown[] = [];
    await expect(pool.run(request('thread.reports', { times: 3 }), hooks([], reports)).done).resolves.toBe('reported');
    expect(reports).toEqual([1, 2, 3].map((i) => ({ current: i, total: 3, message: `step ${i}` })));
  });

  it('fails with RESULT_NOT_JSON when the result cannot be stored, and with ISOLATED_THREAD_EXITED when the thread exits', async () => {
    pool = new HandlerThreadPool({ maxIdle: 1, logLevel: 'info' });
    await expect(pool.run(request('thread.bigint'), hooks()).done).rejects.toMatchObject({ code: 'RESULT_NOT_JSON' });
    await expect(pool.run(request('thread.exits'), hooks()).done).rejects.toMatchObject({ code: 'ISOLATED_THREAD_EXITED', message: /code 3/ });
  });

  it('fails with INVALID_PAYLOAD when the payload does not pass the schema in the thread', async () => {
    pool = new HandlerThreadPool({ maxIdle: 1, logLevel: 'info' });
    await expect(pool.run(request('thread.reports', { times: 'three' }), hooks()).done).rejects.toMatchObject({ code: 'INVALID_PAYLOAD' });
  });

  it('refuses runs once closed', async () => {
    pool = new HandlerThreadPool({ maxIdle: 1, logLevel: 'info' });
    await pool.close();
    expect(() => pool.run(request('thread.which'), hooks())).toThrow(/closed/);
  });
});
