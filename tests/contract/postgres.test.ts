import { sql, type LogEvent } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresAdapter, type PostgresQueueAdapter } from '../../adapters/postgres/postgres-adapter.js';
import type { ClaimCompanion } from '../../adapters/queue-adapter.js';
import pg from 'pg';
import { claimDeliveries } from '../../adapters/postgres/sql/claim-deliveries.js';
import { createDatabase, databaseOn, type Db } from '../../src/store/database.js';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from '../support/test-database.js';
import { createRecorder, makeDeliveries, makeDelivery, sleep, uniqueQueue, waitFor } from './contract-helpers.js';
import { describeQueueAdapter } from './describe-queue-adapter.js';

let testDb: TestDatabase;
const pools = new Map<PostgresQueueAdapter, Db>();
const errors: Error[] = [];

beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all([...pools.values()].map((db) => db.destroy()));
  await testDb.drop();
});

/** Each adapter on a pool of its own, as each process would have, so a crash can drop it. */
async function makeAdapter(options: { pollIntervalMs?: number; onQuery?: (event: LogEvent) => void } = {}): Promise<PostgresQueueAdapter> {
  const { onQuery, ...adapterOptions } = options;
  const db = createDatabase({ connectionString: TEST_DATABASE_URL, schema: testDb.schema, maxConnections: 4, ...(onQuery ? { onQuery } : {}) });
  const adapter = createPostgresAdapter({
    db,
    connectionString: TEST_DATABASE_URL,
    channel: `jobql_deliveries_${testDb.schema}`,
    lockMs: 1_000,
    onError: (error) => errors.push(error),
    ...adapterOptions,
  });
  pools.set(adapter, db);
  return adapter;
}

describeQueueAdapter('postgres', () => makeAdapter(), {
  async crash(adapter) {
    const crashed = adapter as PostgresQueueAdapter;
    await crashed.crash();
    await pools.get(crashed)?.destroy();
    pools.delete(crashed);
  },
});

describe('postgres adapter specifics', () => {
  it('picks deliveries by an ordered scan of the claim-order index, whatever the planner would choose', async () => {
    // The session disfavours index scans, as stale statistics on a churning table do (the inline
    // pick became a bitmap scan and a sort of every due row, dead ones included); the claim's pick
    // is planned with settings of its own. auto_explain hands each plan back as a notice.
    const notices: string[] = [];
    const settings = [
      `search_path=${testDb.schema},public`,
      'enable_indexscan=off',
      'session_preload_libraries=auto_explain',
      'auto_explain.log_min_duration=0',
      'auto_explain.log_nested_statements=on',
      'auto_explain.log_level=notice',
    ];
    const pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 1, options: settings.map((setting) => `-c ${setting}`).join(' ') });
    pool.on('connect', (client) => client.on('notice', (notice) => notices.push(notice.message ?? '')));
    const db = databaseOn(pool, { schema: testDb.schema });
    const adapter = await makeAdapter();
    try {
      const queue = uniqueQueue('plan');
      const deliveries = makeDeliveries(queue, 300).map((delivery, i) => ({ ...delivery, priority: 1 + (i % 10) }));
      await adapter.enqueue({ deliveries });
      const claimed = await claimDeliveries(db, { queues: [queue], now: new Date(), limit: 10, consumerId: 'plan-test', lockMs: 30_000 });
      const expected = [...deliveries].sort((a, b) => b.priority - a.priority).slice(0, 10);
      expect(claimed.map((c) => c.delivery.taskId).sort()).toEqual(expected.map((d) => d.taskId).sort());
      const pick = notices.find((notice) => notice.includes('from queue_deliveries d') && notice.includes('skip locked'));
      expect(pick, `no plan of the pick among ${notices.length} notices`).toBeDefined();
      expect(pick).toMatch(/Index Scan using queue_deliveries_claim_order/);
      expect(pick).not.toMatch(/Bitmap|Seq Scan|Sort/);
    } finally {
      await db.destroy();
      await adapter.close();
    }
  });

  it('wakes an idle consumer by NOTIFY long before its poll', async () => {
    const adapter = await makeAdapter({ pollIntervalMs: 60_000 });
    try {
      const queue = uniqueQueue('notify');
      const recorder = createRecorder();
      adapter.consume({ queues: [queue], concurrency: 1, handle: recorder.handle });
      await sleep(300); // the listener connects and the first, empty claim is done
      const delivery = makeDelivery(queue);
      const sent = Date.now();
      await adapter.enqueue({ deliveries: [delivery] });
      await waitFor(() => recorder.hasAll([delivery]), 'the delivery', 5_000);
      expect((recorder.handled[0]?.startedAtMs ?? Infinity) - sent).toBeLessThan(1_000);
    } finally {
      await adapter.close();
    }
  });

  it('commits deliveries with the transaction that enqueued them, and not on rollback', async () => {
    const adapter = await makeAdapter();
    try {
      const queue = uniqueQueue('trx');
      const recorder = createRecorder();
      adapter.consume({ queues: [queue], concurrency: 2, handle: recorder.handle });
      const kept = makeDelivery(queue);
      const rolledBack = makeDelivery(queue);
      await testDb.db.transaction().execute(async (trx) => {
        await adapter.enqueue({ deliveries: [kept], executor: trx });
        await sleep(300);
        expect(recorder.handled).toHaveLength(0); // not visible before commit
      });
      await waitFor(() => recorder.hasAll([kept]), 'the committed delivery', 5_000);
      await expect(
        testDb.db.transaction().execute(async (trx) => {
          await adapter.enqueue({ deliveries: [rolledBack], executor: trx });
          throw new Error('roll back (expected by the test)');
        }),
      ).rejects.toThrow(/roll back/);
      await sleep(1_200); // past a poll
      expect(recorder.count(`${rolledBack.taskId}:1`)).toBe(0);
    } finally {
      await adapter.close();
    }
  });

  it("delivers what a statement of the store's wrote through enqueueCte, once, and nothing when that statement fails", async () => {
    const adapter = await makeAdapter({ pollIntervalMs: 60_000 });
    try {
      const queue = uniqueQueue('cte');
      const recorder = createRecorder();
      adapter.consume({ queues: [queue], concurrency: 2, handle: recorder.handle });
      await sleep(300);
      const kept = makeDelivery(queue);
      // Twice in one statement's worth of input: still one delivery (on conflict do nothing).
      await sql`with ${adapter.enqueueCte([kept, kept])} select 1`.execute(testDb.db);
      await waitFor(() => recorder.hasAll([kept]), 'the delivery written by the statement (woken by its NOTIFY)', 5_000);
      const lost = makeDelivery(queue);
      await expect(sql`with ${adapter.enqueueCte([lost])} select 1 / 0`.execute(testDb.db)).rejects.toThrow(/division by zero/);
      await sleep(300);
      expect(recorder.count(`${kept.taskId}:1`)).toBe(1);
      expect(recorder.count(`${lost.taskId}:1`)).toBe(0);
      expect(() => adapter.enqueueCte([{ ...makeDelivery(queue), runAt: new Date(Number.NaN) }])).toThrow(TypeError);
      await adapter.close();
      expect(() => adapter.enqueueCte([makeDelivery(queue)])).toThrow(/closed/);
    } finally {
      await adapter.close();
    }
  });

  it('keeps delivering after its LISTEN connection is terminated', async () => {
    const adapter = await makeAdapter({ pollIntervalMs: 60_000 });
    try {
      const queue = uniqueQueue('relisten');
      const recorder = createRecorder();
      adapter.consume({ queues: [queue], concurrency: 1, handle: recorder.handle });
      await sleep(300);
      // Every LISTEN connection on this file's channel: the adapter's own.
      const { rows } = await sql<{ terminated: boolean }>`
        select pg_terminate_backend(pid) as terminated from pg_stat_activity
        where query ilike ${`LISTEN "jobql_deliveries_${testDb.schema}"%`}`.execute(testDb.db);
      expect(rows.filter((row) => row.terminated).length).toBeGreaterThanOrEqual(1);
      await sleep(500); // reconnects after its first retry delay
      const delivery = makeDelivery(queue);
      await adapter.enqueue({ deliveries: [delivery] });
      await waitFor(() => recorder.hasAll([delivery]), 'the delivery after reconnect', 5_000);
    } finally {
      await adapter.close();
    }
  });

  it('hands out the first 500 of a batch of 2,000 in priority order with one consumer', async () => {
    const adapter = await makeAdapter();
    try {
      const queue = uniqueQueue('batch');
      const deliveries = Array.from({ length: 2_000 }, (_, i) => makeDelivery(queue, { priority: 1 + ((i * 7) % 10), runAt: new Date(Date.now() - 1_000) }));
      await adapter.enqueue({ deliveries });
      const priorities: number[] = [];
      adapter.consume({ queues: [queue], concurrency: 1, handle: async (d) => void priorities.push(d.priority) });
      // One claim per delivery at concurrency 1: a loaded CI machine took 20 s for all 2,000.
      await waitFor(() => priorities.length >= 500, '500 deliveries', 20_000);
      const highest = deliveries.map((d) => d.priority).sort((a, b) => b - a);
      expect(priorities.slice(0, 500)).toEqual(highest.slice(0, 500));
    } finally {
      await adapter.close();
    }
  });

  it("writes a busy consumer's acknowledgements with its next claims, and an idle one's on their own", async () => {
    const statements: string[] = [];
    // No poll wakes: each claim then follows a settled delivery in the same tick, whatever the load.
    const adapter = await makeAdapter({ pollIntervalMs: 60_000, onQuery: (event) => statements.push(event.query.sql) });
    const remaining = async (queue: string): Promise<number> => {
      const { rows } = await sql<{ n: string }>`select count(*) as n from queue_deliveries where queue = ${queue}`.execute(testDb.db);
      return Number(rows[0]?.n);
    };
    try {
      const queue = uniqueQueue('ack');
      const deliveries = makeDeliveries(queue, 200);
      await adapter.enqueue({ deliveries });
      const recorder = createRecorder();
      adapter.consume({ queues: [queue], concurrency: 1, handle: recorder.handle });
      await waitFor(() => recorder.hasAll(deliveries), '200 deliveries', 20_000);
      // The last acknowledgements have no claim after them: they go on their own, soon.
      for (let i = 0; i < 100 && (await remaining(queue)) > 0; i++) await sleep(50);
      expect(await remaining(queue)).toBe(0);
      const ownDeletes = statements.filter((text) => /^\s*delete from queue_deliveries/.test(text)).length;
      const claims = statements.filter((text) => /claimable_deliveries\(/.test(text)).length;
      expect(claims).toBeGreaterThan(0);
      expect(ownDeletes).toBeLessThanOrEqual(2);

      // One handled just before close is written by close, not lost with the timer.
      const last = makeDelivery(queue);
      await adapter.enqueue({ deliveries: [last] });
      await waitFor(() => recorder.hasAll([last]), 'the last delivery', 5_000);
      await adapter.close();
      expect(await remaining(queue)).toBe(0);
    } finally {
      await adapter.close();
    }
  });

  it("runs a claim companion's CTEs in the claim's statement and hands each delivery its value", async () => {
    await sql`create table companion_marks (task_id uuid, attempt int)`.execute(testDb.db);
    const companion: ClaimCompanion<string> = {
      ctes: () => sql`marked as (insert into companion_marks select task_id, attempt from taken returning task_id, attempt)`,
      columns: sql`marked.task_id as marked_task_id`,
      join: sql`left join marked on marked.task_id = taken.task_id and marked.attempt = taken.attempt`,
      read: (rows) => rows.map((row) => `marked ${String(row['markedTaskId'])}`),
    };
    const adapter = await makeAdapter();
    try {
      const queue = uniqueQueue('companion');
      const deliveries = makeDeliveries(queue, 20);
      await adapter.enqueue({ deliveries });
      const seen = new Map<string, string | undefined>();
      adapter.consume({ queues: [queue], concurrency: 3, companion, handle: async (d, claimed) => void seen.set(d.taskId, claimed) });
      await waitFor(() => seen.size === deliveries.length, '20 deliveries', 10_000);
      expect([...seen].sort()).toEqual(deliveries.map((d) => [d.taskId, `marked ${d.taskId}`]).sort());
      const { rows } = await sql<{ n: string }>`select count(*) as n from companion_marks`.execute(testDb.db);
      expect(Number(rows[0]?.n)).toBe(deliveries.length);
    } finally {
      await adapter.close();
      await sql`drop table companion_marks`.execute(testDb.db);
    }
  });

  it("runs the deliveries a companion claimed when the consumer stopped while claiming them", async () => {
    // The companion's work is written (an attempt claimed): releasing its deliveries would strand it.
    const companion: ClaimCompanion<string> = {
      ctes: () => sql`slow as (select pg_sleep(0.3) as slept)`,
      columns: sql`'claimed' as how`,
      join: sql`cross join slow`,
      read: (rows) => rows.map((row) => String(row['how'])),
    };
    const adapter = await makeAdapter({ pollIntervalMs: 60_000 });
    try {
      const queue = uniqueQueue('stop-companion');
      const deliveries = makeDeliveries(queue, 3);
      await adapter.enqueue({ deliveries });
      const seen: (string | undefined)[] = [];
      const consumer = adapter.consume({ queues: [queue], concurrency: 3, companion, handle: async (_d, claimed) => void seen.push(claimed) });
      await sleep(100); // the claim is in its pg_sleep
      await consumer.stop();
      expect(seen).toEqual(['claimed', 'claimed', 'claimed']);
      const { rows } = await sql<{ n: string }>`select count(*) as n from queue_deliveries where queue = ${queue}`.execute(testDb.db);
      expect(Number(rows[0]?.n)).toBe(0);
    } finally {
      await adapter.close();
    }
  });

  it('writes neither the claim nor its companion when the companion fails', async () => {
    const failures: Error[] = [];
    const companion: ClaimCompanion<undefined> = {
      ctes: () => sql`failing as (select 1 / (count(*) - count(*)) as x from taken)`,
      columns: sql`failing.x`,
      join: sql`cross join failing`,
      read: (rows) => rows.map(() => undefined),
    };
    const db = createDatabase({ connectionString: TEST_DATABASE_URL, schema: testDb.schema, maxConnections: 2 });
    const adapter = createPostgresAdapter({ db, connectionString: TEST_DATABASE_URL, channel: `jobql_deliveries_${testDb.schema}`, onError: (e) => failures.push(e) });
    try {
      const queue = uniqueQueue('failing-companion');
      const deliveries = makeDeliveries(queue, 5);
      await adapter.enqueue({ deliveries });
      const recorder = createRecorder();
      adapter.consume({ queues: [queue], concurrency: 5, companion, handle: recorder.handle });
      await waitFor(() => failures.length >= 2, 'two failed claims', 10_000);
      expect(failures[0]?.message).toMatch(/division by zero/);
      expect(recorder.handled).toEqual([]);
      const { rows } = await sql<{ locked: string; n: string }>`
        select count(*) as n, count(locked_by) as locked from queue_deliveries where queue = ${queue}`.execute(testDb.db);
      expect(rows).toEqual([{ n: '5', locked: '0' }]);
    } finally {
      await adapter.close();
      await db.destroy();
    }
  });

  it('reported no connection or SQL error during the suite', () => {
    // Terminated LISTEN connections are expected to report; anything else is a defect.
    expect(errors.filter((e) => !/terminat/i.test(e.message)).map((e) => e.message)).toEqual([]);
  });
});
