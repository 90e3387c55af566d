import { afterEach, describe, expect, it } from 'vitest';
import { insertJob } from '../../src/store/insert-job.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { TEST_REDIS_URL } from '../support/test-redis.js';

let app: TestApp | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

async function waitForJob(current: TestApp, jobId: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status } = await current.db.selectFrom('jobs').select('status').where('id', '=', jobId).executeTakeFirstOrThrow();
    if (status === 'SUCCEEDED' || Date.now() > deadline) return status;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('reconciler', () => {
  it.each(['postgres', 'redis'])(
    'runs a task committed to the store whose delivery never reached the %s adapter',
    async (adapter) => {
      app = await startTestApp({
        env: { QUEUE_ADAPTER: adapter, REDIS_URL: TEST_REDIS_URL, RECONCILE_INTERVAL_MS: '300' },
      });
      // What a crash between the store's commit and the enqueue leaves: task rows, no delivery.
      const { job } = await app.db.transaction().execute((trx) =>
        insertJob(
          trx,
          'default',
          {
            name: 'orphan',
            queue: 'default',
            priority: 5,
            idempotencyKey: null,
            metadata: {},
            tasks: [{ key: null, type: 'demo.echo', queue: 'default', priority: 5, payload: { orphan: true }, maxAttempts: 3, timeoutMs: null, runAt: new Date() }],
          },
          new Date(),
        ),
      );
      expect(await waitForJob(app, job.id, 10_000)).toBe('SUCCEEDED');
    },
  );
});
