import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPostgresEventBus } from '../../adapters/postgres/postgres-event-bus.js';
import { busChannels } from '../../adapters/bus/relayed-event-bus.js';
import { encodeEvents } from '../../adapters/bus/wire-format.js';
import { createDatabase, type Db } from '../../src/store/database.js';
import { insertJob } from '../../src/store/insert-job.js';
import { eventBySeq, eventsAfter } from '../../src/store/reads.js';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from '../support/test-database.js';
import { describeEventBus } from './describe-event-bus.js';
import { openRelayedPair, progressData, syntheticEvents, uniqueChannel } from './event-fixtures.js';
import type { JobEvent, JobEventData } from '../../src/domain/job-event.js';

let t: TestDatabase;
/** The pools of the two processes a pair of buses stands for: one connection each, so they never grow. */
let processDbs: [Db, Db];
beforeAll(async () => {
  t = await createTestDatabase();
  processDbs = [0, 1].map(() => createDatabase({ connectionString: TEST_DATABASE_URL, schema: t.schema, maxConnections: 1 })) as [Db, Db];
});
afterAll(async () => {
  await Promise.all(processDbs?.map((db) => db.destroy()) ?? []);
  await t?.drop();
});

/**
 * A job with one task, stored as submitJob and progress reports store them. It also opens the
 * processes' pool connections, so that afterwards only what the buses open comes and goes.
 */
async function storedEvents(progress: readonly JobEventData[]): Promise<JobEvent[]> {
  await Promise.all(processDbs.map((db) => sql`select 1`.execute(db)));
  return t.db.transaction().execute(async (trx) => {
    const now = new Date();
    const inserted = await insertJob(
      trx,
      'default',
      {
        name: 'event-bus',
        queue: 'default',
        priority: 5,
        idempotencyKey: null,
        metadata: {},
        tasks: [{ key: null, type: 'demo.echo', queue: 'default', priority: 5, payload: {}, maxAttempts: 1, timeoutMs: null, runAt: now }],
      },
      now,
    );
    const taskId = inserted.tasks[0]!.id;
    // The progress events as a worker's reports write them, numbered on from the job's own.
    if (progress.length > 0) {
      await sql`
        with written as (
          insert into job_events (job_id, seq, task_id, type, data)
          select ${inserted.job.id}::uuid, ${inserted.job.eventSeq} + n, ${taskId}::uuid, 'TASK_PROGRESS', data
          from jsonb_array_elements(${JSON.stringify(progress)}::jsonb) with ordinality as p(data, n)
          returning seq
        )
        update jobs set event_seq = (select max(seq) from written) where id = ${inserted.job.id}`.execute(trx);
    }
    return eventsAfter(trx, { tenant: 'default' }, { jobId: inserted.job.id, afterSeq: 0, limit: 100 });
  });
}

/** The backends LISTENing on the bus channel, once they listen on both of its channels. */
async function listenerPids(channel: string): Promise<number[]> {
  const { rows } = await sql<{ pid: number }>`
    select pid from pg_stat_activity
    where datname = current_database() and query ilike 'LISTEN%' and position(${busChannels(channel).cancel} in query) > 0`.execute(t.db);
  return rows.map((row) => row.pid);
}

function openPair(): ReturnType<typeof openRelayedPair> {
  return openRelayedPair((channel, onError, index) =>
    createPostgresEventBus({ db: processDbs[index]!, loadEvent: (ref) => eventBySeq(processDbs[index]!, ref), connectionString: TEST_DATABASE_URL, channel, onError }),
  );
}

describeEventBus('postgres', {
  crossProcess: true,
  openPair,
  events: storedEvents,
  async openFailing() {
    const errors: Error[] = [];
    // Nothing listens on port 1: every NOTIFY fails.
    const db = createDatabase({ connectionString: 'postgres://postgres@127.0.0.1:1/test' });
    const bus = createPostgresEventBus({ db, loadEvent: (ref) => eventBySeq(db, ref), connectionString: TEST_DATABASE_URL, channel: uniqueChannel(), onError: (error) => errors.push(error) });
    return {
      bus,
      errors,
      sendError: /ECONNREFUSED/,
      async close() {
        await bus.close();
        await db.destroy();
      },
    };
  },
  listenersOnServer: async (channel) => (await listenerPids(channel)).length,
});

describe('postgres event bus', () => {
  it('listens again by itself after its connection is terminated, and events flow again', async () => {
    const p = await openPair();
    try {
      const before = await listenerPids(p.channel);
      expect(before).toHaveLength(2);
      await sql`select pg_terminate_backend(pid) from unnest(${before}::int[]) as pid`.execute(t.db);
      await vi.waitFor(
        async () => {
          const now = await listenerPids(p.channel);
          expect(now).toHaveLength(2);
          expect(now.filter((pid) => before.includes(pid))).toEqual([]);
        },
        { timeout: 10_000, interval: 50 },
      );
      expect(p.errors.map((error) => error.message)).toContain('terminating connection due to administrator command');

      const events = await storedEvents([progressData(1), progressData(2, 'z'.repeat(9_000))]);
      const onB: JobEvent[] = [];
      p.b.subscribe(events[0]!.jobId, (event) => onB.push(event));
      const cancels: string[] = [];
      p.a.onCancelRequested((taskId) => cancels.push(taskId));
      p.a.publish(events);
      p.b.requestCancel(['t1']);
      await vi.waitFor(() => expect(onB).toStrictEqual(events), { timeout: 10_000 });
      await vi.waitFor(() => expect(cancels).toEqual(['t1']), { timeout: 10_000 });
    } finally {
      await p.close();
    }
  });

  it('reports a message it cannot read and keeps listening', async () => {
    const p = await openPair();
    try {
      const events = syntheticEvents([progressData(1)]);
      const onB: JobEvent[] = [];
      // Both read events messages: each has a subscriber.
      p.a.subscribe(events[0]!.jobId, () => {});
      p.b.subscribe(events[0]!.jobId, (event) => onB.push(event));
      await sql`select pg_notify(${busChannels(p.channel).events}, 'not a message')`.execute(t.db);
      await sql`select pg_notify(${busChannels(p.channel).cancel}, '{"origin":"elsewhere","taskIds":[1]}')`.execute(t.db);
      p.a.publish(events);
      await vi.waitFor(() => expect(onB).toStrictEqual(events), { timeout: 10_000 });
      // Each bus of the pair hears both.
      await vi.waitFor(() => expect(p.errors).toHaveLength(4), { timeout: 10_000 });
      expect(p.errors.map((error) => error.message).sort()).toEqual([
        'malformed event-bus message: not JSON',
        'malformed event-bus message: not JSON',
        'malformed event-bus message: task id',
        'malformed event-bus message: task id',
      ]);
    } finally {
      await p.close();
    }
  });

  it('leaves events messages unread while nobody in its process is subscribed', async () => {
    const p = await openPair();
    try {
      const events = syntheticEvents([progressData(1)]);
      const onB: JobEvent[] = [];
      await sql`select pg_notify(${busChannels(p.channel).events}, 'not a message')`.execute(t.db);
      p.a.publish(events);
      // The cancel channel is read whatever: its message is what both buses hear last.
      const cancels: string[] = [];
      p.b.onCancelRequested((taskId) => cancels.push(taskId));
      p.a.requestCancel(['t1']);
      await vi.waitFor(() => expect(cancels).toEqual(['t1']), { timeout: 10_000 });
      expect(p.errors).toEqual([]);

      p.b.subscribe(events[0]!.jobId, (event) => onB.push(event));
      await sql`select pg_notify(${busChannels(p.channel).events}, 'not a message')`.execute(t.db);
      p.a.publish(events);
      await vi.waitFor(() => expect(onB).toStrictEqual(events), { timeout: 10_000 });
      expect(p.errors.map((error) => error.message)).toEqual(['malformed event-bus message: not JSON']);
    } finally {
      await p.close();
    }
  });

  it('carries a message of 7,999 bytes, the largest NOTIFY takes, byte for byte', async () => {
    const p = await openPair();
    try {
      // Quotes and backslashes (escaped in JSON), two- and three-byte characters: the message the
      // wire format measured is the payload PostgreSQL gets. A byte more and it would fail; as a
      // reference it could not be followed (these events are not in the store).
      const [event] = syntheticEvents([progressData(1, '')]).slice(2);
      const origin = randomUUID();
      const size = (message: string) => Buffer.byteLength(encodeEvents(origin, [{ ...event!, data: progressData(1, message) }])[0]!);
      let message = '"\\é€'.repeat(Math.floor((7_999 - size('')) / 10));
      message += 'x'.repeat(7_999 - size(message));
      expect(size(message)).toBe(7_999);
      const whole = { ...event!, data: progressData(1, message) };
      const onB: JobEvent[] = [];
      p.b.subscribe(whole.jobId, (received) => onB.push(received));
      p.a.publish([whole]);
      await vi.waitFor(() => expect(onB).toStrictEqual([whole]), { timeout: 10_000 });
      expect(p.errors).toEqual([]);
    } finally {
      await p.close();
    }
  });

  it('refuses a channel name PostgreSQL would cut short', () => {
    expect(() => createPostgresEventBus({ db: t.db, loadEvent: (ref) => eventBySeq(t.db, ref), connectionString: TEST_DATABASE_URL, channel: 'c'.repeat(60) })).toThrow(/63 bytes/);
  });
});
