import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createRedisEventBus } from '../../adapters/redis/redis-event-bus.js';
import { busChannels } from '../../adapters/bus/relayed-event-bus.js';
import { TEST_REDIS_URL } from '../support/test-redis.js';
import { describeEventBus } from './describe-event-bus.js';
import { openRelayedPair, progressData, syntheticEvents, uniqueChannel } from './event-fixtures.js';

const admin = new Redis(TEST_REDIS_URL);
afterAll(async () => {
  await admin.quit();
});

async function subscribers(channel: string): Promise<number> {
  const reply = (await admin.call('PUBSUB', 'NUMSUB', busChannels(channel).events)) as [string, number];
  return Number(reply[1]);
}

function openPair(): ReturnType<typeof openRelayedPair> {
  return openRelayedPair((channel, onError) => createRedisEventBus({ url: TEST_REDIS_URL, channel, onError }));
}

describeEventBus('redis', {
  crossProcess: true,
  openPair,
  events: async (progress) => syntheticEvents(progress),
  async openFailing() {
    const errors: Error[] = [];
    // Nothing listens on port 1.
    const bus = createRedisEventBus({ url: 'redis://127.0.0.1:1', channel: uniqueChannel(), onError: (error) => errors.push(error) });
    return { bus, errors, sendError: /max retries per request/i, close: () => bus.close() };
  },
  listenersOnServer: subscribers,
});

describe('redis event bus', () => {
  it('subscribes again by itself after the server drops its subscriber connection', async () => {
    const p = await openPair();
    try {
      const clients = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub'))
        .split('\n')
        .filter((line) => line.includes(`name=jobql-event-bus-${p.channel} `));
      expect(clients).toHaveLength(2);
      for (const line of clients) await admin.call('CLIENT', 'KILL', 'ID', /\bid=(\d+)/.exec(line)![1]!);
      expect(await subscribers(p.channel)).toBeLessThan(2);
      await vi.waitFor(async () => expect(await subscribers(p.channel)).toBe(2), { timeout: 10_000, interval: 50 });

      const events = syntheticEvents([progressData(1)]);
      const seen: unknown[] = [];
      p.b.subscribe(events[0]!.jobId, (event) => seen.push(event));
      p.a.publish(events);
      await vi.waitFor(() => expect(seen).toStrictEqual(events), { timeout: 10_000 });
    } finally {
      await p.close();
    }
  });
});
