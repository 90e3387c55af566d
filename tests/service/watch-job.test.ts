import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobEvent } from '../../src/domain/job-event.js';
import { NotFoundError } from '../../src/errors/index.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/** What an embedding program gets from the service alone: the same stream a subscription maps. */

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ env: { SUBSCRIPTION_RESYNC_MS: '200' } });
});
afterAll(async () => {
  await app?.stop();
});

async function collect(events: AsyncIterable<JobEvent>): Promise<JobEvent[]> {
  const seen: JobEvent[] = [];
  for await (const event of events) seen.push(event);
  return seen;
}

describe('JobService.watchJob', () => {
  it('yields every event of the job once, in order, and ends at its final status', async () => {
    const job = await app.service.submitJob({ tenant: 'default' }, {
      name: 'watched',
      tasks: [{ type: 'demo.sleep', payload: { ms: 200, steps: 4 } }, { type: 'demo.echo', payload: 1 }],
    });
    const events = await collect(app.service.watchJob({ tenant: 'default' }, job.id));
    expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.at(-1)).toMatchObject({ type: 'JOB_STATUS_CHANGED', data: { jobStatus: 'SUCCEEDED' } });
    expect(events.filter((event) => event.type === 'TASK_PROGRESS')).toHaveLength(4);
    const [stored] = await app.service.jobsByIds({ tenant: 'default' }, [job.id]);
    expect(events.at(-1)?.seq).toBe(stored?.eventSeq);

    // Resumed after an event: exactly the rest, then the end.
    const resumed = await collect(app.service.watchJob({ tenant: 'default' }, job.id, { afterSeq: 3 }));
    expect(resumed).toEqual(events.slice(3));
  });

  it('refuses a job that does not exist, and an id that is not one', async () => {
    await expect(collect(app.service.watchJob({ tenant: 'default' }, '00000000-0000-4000-8000-000000000000'))).rejects.toBeInstanceOf(NotFoundError);
    await expect(collect(app.service.watchJob({ tenant: 'default' }, 'not-a-uuid'))).rejects.toBeInstanceOf(NotFoundError);
  });

  it('replays a job that ended before the watch began, and ends there', async () => {
    const job = await app.service.submitJob({ tenant: 'default' }, { name: 'over', tasks: [{ type: 'demo.sleep', payload: { ms: 5_000, steps: 1 } }] });
    await app.service.cancelJob({ tenant: 'default' }, job.id);
    const [stored] = await app.service.jobsByIds({ tenant: 'default' }, [job.id]);
    const events = await collect(app.service.watchJob({ tenant: 'default' }, job.id));
    expect(events.map((event) => event.seq)).toEqual(Array.from({ length: stored!.eventSeq }, (_, i) => i + 1));
    expect(events.at(-1)).toMatchObject({ type: 'JOB_STATUS_CHANGED', data: { jobStatus: 'CANCELLED' } });
  });

  it('ends at once when its consumer returns while it waits for an event that does not come', async () => {
    const job = await app.service.submitJob({ tenant: 'default' }, { name: 'quiet', tasks: [{ type: 'demo.echo', payload: 1, delayMs: 3_600_000 }] });
    const [stored] = await app.service.jobsByIds({ tenant: 'default' }, [job.id]);
    const watch = app.service.watchJob({ tenant: 'default' }, job.id);
    for (let n = 0; n < stored!.eventSeq; n++) expect((await watch.next()).done).toBe(false);
    // Nothing more will happen to the job: this waits, through resyncs that find nothing.
    const waiting = watch.next();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const started = Date.now();
    await expect(watch.return(undefined)).resolves.toEqual({ done: true, value: undefined });
    await expect(waiting).resolves.toMatchObject({ done: true });
    expect(Date.now() - started).toBeLessThan(200);
  });
});
