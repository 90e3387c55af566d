import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPostgresEventBus } from '../../adapters/postgres/postgres-event-bus.js';
import { busChannels, type RelayedEventBus } from '../../adapters/bus/relayed-event-bus.js';
import { decodeEvents, type EventItem } from '../../adapters/bus/wire-format.js';
import { createDatabase, type Db } from '../../src/store/database.js';
import { insertJob, type NewTask } from '../../src/store/insert-job.js';
import { eventBySeq, eventsAfter } from '../../src/store/reads.js';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from '../support/test-database.js';
import { sleep, uniqueChannel } from './event-fixtures.js';
import type { JobEvent } from '../../src/domain/job-event.js';
import { recordProgress } from '../../src/store/record-progress.js';
import { claimAttempts } from '../../src/store/claim-attempts.js';
import { completeAttempts } from '../../src/store/complete-attempts.js';

/**
 * Batch statements that send their own events (`statementNotify`): the worker's bus (`a`) never
 * sends them, the API's (`b`) hears them from the commit, and a bare LISTEN connection sees the
 * messages as they travel.
 */

const PAYLOAD_LIMIT = 7_999;

let t: TestDatabase;
/** The worker's pool: every statement on it is counted. */
let workerDb: Db;
let workerStatements: string[] = [];
let apiDb: Db;
let channel: string;
let a: RelayedEventBus;
let b: RelayedEventBus;
let raw: pg.Client;
let payloads: string[] = [];
const errors: Error[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
  workerDb = createDatabase({ connectionString: TEST_DATABASE_URL, schema: t.schema, onQuery: (event) => void workerStatements.push(event.query.sql) });
  apiDb = createDatabase({ connectionString: TEST_DATABASE_URL, schema: t.schema });
  channel = uniqueChannel();
  const onError = (error: Error): void => void errors.push(error);
  a = createPostgresEventBus({ db: workerDb, loadEvent: (ref) => eventBySeq(workerDb, ref), connectionString: TEST_DATABASE_URL, channel, onError });
  b = createPostgresEventBus({ db: apiDb, loadEvent: (ref) => eventBySeq(apiDb, ref), connectionString: TEST_DATABASE_URL, channel, onError });
  raw = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await raw.connect();
  raw.on('notification', (message) => void payloads.push(message.payload ?? ''));
  await raw.query(`listen "${busChannels(channel).events}"`);
  await Promise.all([a.ready(), b.ready()]);
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await raw?.end();
  await Promise.all([workerDb?.destroy(), apiDb?.destroy()]);
  await t?.drop();
});

const worker = { workerId: 'w1', leaseMs: 60_000 };

function task(overrides: Partial<NewTask> = {}): NewTask {
  return { key: null, type: 'demo.echo', queue: 'default', priority: 5, payload: {}, maxAttempts: 1, timeoutMs: null, runAt: new Date(Date.now() - 1_000), ...overrides };
}

async function job(tasks: readonly NewTask[]): Promise<{ jobId: string; taskIds: string[] }> {
  const inserted = await t.db.transaction().execute((trx) =>
    insertJob(trx, 'default', { name: 'notify', queue: 'default', priority: 5, idempotencyKey: null, metadata: {}, tasks }, new Date(Date.now() - 2_000)),
  );
  return { jobId: inserted.job.id, taskIds: [...inserted.tasks].sort((x, y) => x.position - y.position).map((row) => row.id) };
}

async function storedAfter(jobId: string, afterSeq: number): Promise<JobEvent[]> {
  return eventsAfter(t.db, { tenant: 'default' }, { jobId, afterSeq, limit: 1_000 });
}

function collect(bus: RelayedEventBus, jobId: string): JobEvent[] {
  const seen: JobEvent[] = [];
  bus.subscribe(jobId, (event) => seen.push(event));
  return seen;
}

/** The items of the messages heard since `from`, in arrival order. */
function itemsSince(from: number): EventItem[] {
  return payloads.slice(from).flatMap((payload) => decodeEvents(payload).items);
}

function refOf(event: JobEvent): EventItem {
  return { kind: 'ref', ref: { jobId: event.jobId, seq: event.seq } };
}

describe('a batch statement that sends its own events', () => {
  it('claims 40 tasks in one statement whose commit sends their events, packed in order under the payload limit', async () => {
    const { jobId, taskIds } = await job(Array.from({ length: 40 }, () => task()));
    const [submitted] = (await storedAfter(jobId, 0)).slice(-1);
    const onA = collect(a, jobId);
    const onB = collect(b, jobId);
    const heardFrom = payloads.length;
    workerStatements = [];

    const batch = await claimAttempts(workerDb, taskIds.map((taskId) => ({ taskId, attempt: 1 })), { ...worker, notify: a.statementNotify });
    a.publishSent(batch.sentEvents);

    const stored = await storedAfter(jobId, submitted!.seq);
    expect(stored.map((event) => event.type)).toEqual([...taskIds.map(() => 'TASK_STARTED'), 'JOB_STATUS_CHANGED']);
    expect(batch.events).toEqual([]);
    expect(batch.sentEvents).toStrictEqual(stored);
    await vi.waitFor(() => expect(onB).toStrictEqual(stored), { timeout: 10_000 });
    expect(onA).toStrictEqual(stored);

    const heard = payloads.slice(heardFrom);
    expect(heard.map((payload) => decodeEvents(payload).origin)).toEqual(heard.map(() => a.statementNotify!.origin));
    expect(itemsSince(heardFrom)).toStrictEqual(stored.map((event) => ({ kind: 'event', event })));
    // 41 events of about 200 bytes: 15 to a message.
    expect(heard).toHaveLength(3);
    for (const payload of heard) expect(Buffer.byteLength(payload)).toBeLessThanOrEqual(PAYLOAD_LIMIT);
    // The claim was the worker's only statement: no NOTIFY statement followed it.
    expect(workerStatements).toHaveLength(1);
    // The worker's own bus dropped the echo: its listener has each event once.
    await sleep(200);
    expect(onA).toHaveLength(stored.length);
    expect(errors).toEqual([]);
  });

  it('sends an event too big to pack alone, and one past the payload limit as a reference the other bus reads', async () => {
    const { jobId, taskIds } = await job([task()]);
    const taskId = taskIds[0]!;
    await claimAttempts(workerDb, [{ taskId, attempt: 1 }], worker);
    const [claimed] = (await storedAfter(jobId, 0)).slice(-1);
    const onB = collect(b, jobId);
    const heardFrom = payloads.length;

    const notify = a.statementNotify;
    const big = await recordProgress(workerDb, { taskId, attempt: 1, progress: { current: 1, total: 4, message: 'x'.repeat(600) } }, notify);
    const huge = await recordProgress(workerDb, { taskId, attempt: 1, progress: { current: 2, total: 4, message: 'z'.repeat(9_000) } }, notify);

    const stored = await storedAfter(jobId, claimed!.seq);
    expect(stored.map((event) => event.type)).toEqual(['TASK_PROGRESS', 'JOB_PROGRESS', 'TASK_PROGRESS', 'JOB_PROGRESS']);
    expect([...big, ...huge]).toStrictEqual(stored);
    await vi.waitFor(() => expect(onB).toStrictEqual(stored), { timeout: 10_000 });
    // Each TASK_PROGRESS alone, then its JOB_PROGRESS; the 9,000-character one as a reference.
    const [bigProgress, bigJob, hugeProgress, hugeJob] = stored as [JobEvent, JobEvent, JobEvent, JobEvent];
    expect(payloads.slice(heardFrom)).toHaveLength(4);
    expect(itemsSince(heardFrom)).toStrictEqual([
      { kind: 'event', event: bigProgress },
      { kind: 'event', event: bigJob },
      refOf(hugeProgress),
      { kind: 'event', event: hugeJob },
    ]);
    expect(errors).toEqual([]);
  });

  it('sends every event of a completion that releases dependants itself, the releases included', async () => {
    const { jobId, taskIds } = await job([task(), task({ dependsOn: [0], dependencyRank: 1 }), task()]);
    const [first, dependant, alone] = taskIds as [string, string, string];
    await claimAttempts(workerDb, [first, alone].map((taskId) => ({ taskId, attempt: 1 })), worker);
    const [claimed] = (await storedAfter(jobId, 0)).slice(-1);
    const onB = collect(b, jobId);
    const heardFrom = payloads.length;

    const batch = await completeAttempts(
      workerDb,
      [first, alone].map((taskId) => ({ taskId, attempt: 1, resultJson: '{"ok":true}', finishedAt: new Date(), hasDependants: true })),
      a.statementNotify,
    );

    const stored = await storedAfter(jobId, claimed!.seq);
    expect(stored.filter((event) => event.taskId !== null).map((event) => [event.type, event.taskId])).toEqual([
      ['TASK_SUCCEEDED', first],
      ['TASK_QUEUED', dependant],
      ['TASK_SUCCEEDED', alone],
    ]);
    expect(batch.events).toEqual([]);
    expect(batch.sentEvents).toStrictEqual(stored);
    expect(batch.released.map((released) => released.id)).toEqual([dependant]);
    // Heard without the bus publishing anything.
    await vi.waitFor(() => expect(itemsSince(heardFrom)).toStrictEqual(stored.map((event) => ({ kind: 'event', event }))), { timeout: 10_000 });
    await vi.waitFor(() => expect(onB).toStrictEqual(stored), { timeout: 10_000 });
    expect(errors).toEqual([]);
  });
});
