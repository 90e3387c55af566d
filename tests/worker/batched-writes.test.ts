import { afterEach, describe, expect, it } from 'vitest';
import { benchNoop } from '../../bench/lib/noop-task.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { TEST_REDIS_URL } from '../support/test-redis.js';

/**
 * A worker writes the claims and completions that come due together in batches: with a backlog and
 * 50 slots, far fewer claim and completion statements than tasks. Counted, not timed.
 */

let app: TestApp | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

describe.each(['postgres', 'redis'] as const)('batched attempt writes on the %s adapter', (adapter) => {
  it('claims and completes a backlog of 300 tasks in far fewer statements than tasks', { timeout: 60_000 }, async () => {
    let claims = 0;
    let completions = 0;
    app = await startTestApp({
      env: { QUEUE_ADAPTER: adapter, REDIS_URL: TEST_REDIS_URL, WORKER_CONCURRENCY: '50', WORKER_QUEUES: 'batches' },
      tasks: [benchNoop],
      onQuery: (event) => {
        if (/update tasks set status = 'RUNNING'/.test(event.query.sql)) claims += 1;
        if (/update tasks set status = 'SUCCEEDED'/.test(event.query.sql)) completions += 1;
      },
    });
    const TASKS = 300;
    const job = await app.service.submitJob({ tenant: 'default' }, {
      name: 'batches',
      queue: 'batches',
      tasks: Array.from({ length: TASKS }, (_, seq) => ({ type: 'bench.noop', payload: { seq, sentAt: 0 } })),
    });
    const deadline = Date.now() + 45_000;
    for (;;) {
      const [stored] = await app.service.jobsByIds({ tenant: 'default' }, [job.id]);
      if (stored?.status === 'SUCCEEDED') break;
      if (Date.now() > deadline) throw new Error(`job still ${stored?.status}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(claims).toBeGreaterThan(0);
    expect(claims).toBeLessThanOrEqual(TASKS / 3);
    expect(completions).toBeLessThanOrEqual(TASKS / 3);
  });
});
