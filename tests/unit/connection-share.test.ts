import { describe, expect, it } from 'vitest';
import type { JobService } from '../../src/service/index.js';
import { withConnectionShare } from '../../src/server/connection-share.js';

/** Stands in for the service: each call holds "a connection" for a few milliseconds, and the most held at once is kept. */
function countingService() {
  let running = 0;
  const seen = { most: 0 };
  const hold = async (value: string) => {
    running += 1;
    seen.most = Math.max(seen.most, running);
    await new Promise((resolve) => setTimeout(resolve, 5));
    running -= 1;
    return value;
  };
  const service = {
    jobsByIds: (_tenancy: unknown, ids: string[]) => hold(ids.join()),
    tasksByIds: (_tenancy: unknown, ids: string[]) => hold(ids.join()),
    async *watchJob() {
      yield 'event';
    },
  };
  return { service: service as unknown as JobService, seen };
}

describe('withConnectionShare', () => {
  it('runs at most the share of a request’s calls at once, and answers each', async () => {
    const { service, seen } = countingService();
    const shared = withConnectionShare(service, 2);
    const answers = await Promise.all(Array.from({ length: 10 }, (_, n) => (n % 2 ? shared.jobsByIds : shared.tasksByIds)({ tenant: 't' }, [String(n)])));
    expect(answers).toEqual(Array.from({ length: 10 }, (_, n) => String(n)));
    expect(seen.most).toBe(2);
  });

  it('passes a failing call’s error through and frees its place', async () => {
    const failing = { jobsByIds: () => Promise.reject(new Error('boom')) } as unknown as JobService;
    const shared = withConnectionShare(failing, 1);
    await expect(shared.jobsByIds({ tenant: 't' }, [])).rejects.toThrow('boom');
    await expect(shared.jobsByIds({ tenant: 't' }, [])).rejects.toThrow('boom');
  });

  it('runs watchJob on the service itself, so that its own checks throw where it iterates', async () => {
    class Watcher {
      check(id: string): void {
        if (id === 'bad') throw new Error('not found');
      }
      async *watchJob(_tenancy: unknown, id: string) {
        this.check(id);
        yield id;
      }
    }
    const shared = withConnectionShare(new Watcher() as unknown as JobService, 1);
    await expect(shared.watchJob({ tenant: 't' }, 'bad').next()).rejects.toThrow('not found');
    expect((await shared.watchJob({ tenant: 't' }, 'good').next()).value).toBe('good');
  });

  it('leaves watchJob a generator', async () => {
    const { service } = countingService();
    const events: unknown[] = [];
    for await (const event of withConnectionShare(service, 1).watchJob({ tenant: 't' }, 'x')) events.push(event);
    expect(events).toEqual(['event']);
  });
});
