import { spawn } from 'node:child_process';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { insertJob } from '../../src/store/insert-job.js';
import { startLeaseKeeper, type LeaseKeeper, type LeaseKeeperOptions } from '../../src/worker/lease-keeper.js';
import { createTestDatabase, newSchemaName, TEST_DATABASE_URL, type TestDatabase } from '../support/test-database.js';
import type { HoldAndBlockConfig, HoldAndBlockEvent } from './fixtures/hold-and-block.js';
import type { AttemptRef } from '../../src/domain/attempt-ref.js';
import { claimAttempt, failAttempt } from '../support/attempt-writes.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const FIXTURE = path.join(import.meta.dirname, 'fixtures/hold-and-block.ts');
const TSX_BIN = path.join(ROOT, 'node_modules/.bin/tsx');

let t: TestDatabase;
const openKeepers: LeaseKeeper[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
});

afterEach(async () => {
  await Promise.all(openKeepers.splice(0).map((keeper) => keeper.close()));
});

afterAll(async () => {
  await t?.drop();
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A task RUNNING attempt 1 on `workerId`, written as the store writes it. */
async function runningAttempt(workerId: string, leaseMs: number): Promise<AttemptRef> {
  const now = new Date();
  const { tasks } = await t.db.transaction().execute((trx) =>
    insertJob(
      trx,
      'default',
      {
        name: 'lease-keeper',
        queue: 'default',
        priority: 5,
        idempotencyKey: null,
        metadata: {},
        tasks: [{ key: null, type: 'demo.echo', queue: 'default', priority: 5, payload: 1, maxAttempts: 3, timeoutMs: null, runAt: now }],
      },
      now,
    ),
  );
  const taskId = tasks[0]?.id ?? '';
  const claimed = await claimAttempt(t.db, { taskId, attempt: 1, workerId, leaseMs });
  expect(claimed?.task.status).toBe('RUNNING');
  return { taskId, attempt: 1 };
}

interface LeaseSample {
  readonly lease: number;
  /** The server's clock when the row was read: the one the reaper compares leases with. */
  readonly now: number;
}

async function leaseOf(ref: AttemptRef): Promise<LeaseSample> {
  const { rows } = await sql<{ lease: Date | null; now: Date }>`
    select lease_expires_at as lease, clock_timestamp() as now from tasks where id = ${ref.taskId}`.execute(t.db);
  const row = rows[0];
  if (!row?.lease) throw new Error(`task ${ref.taskId} has no lease`);
  return { lease: row.lease.getTime(), now: row.now.getTime() };
}

interface Reports {
  readonly lost: AttemptRef[];
  readonly errors: Error[];
}

async function startKeeper(
  options: Pick<LeaseKeeperOptions, 'workerId' | 'leaseMs' | 'heartbeatMs'> & { connectionString?: string },
): Promise<{ keeper: LeaseKeeper; reports: Reports }> {
  const reports: Reports = { lost: [], errors: [] };
  const keeper = await startLeaseKeeper({
    connectionString: TEST_DATABASE_URL,
    schema: t.schema,
    ...options,
    onLost: (ref) => reports.lost.push(ref),
    onError: (error) => reports.errors.push(error),
  });
  openKeepers.push(keeper);
  return { keeper, reports };
}

/** Waits until the lease has moved forward `times` times, and returns what it saw. */
async function watchLeaseMove(ref: AttemptRef, times: number, intervalMs: number): Promise<LeaseSample[]> {
  const seen: LeaseSample[] = [];
  await vi.waitFor(
    async () => {
      seen.push(await leaseOf(ref));
      expect(new Set(seen.map((s) => s.lease)).size).toBeGreaterThan(times);
    },
    { timeout: 10_000, interval: intervalMs },
  );
  return seen;
}

describe('the lease keeper renews from its own thread', () => {
  it('keeps a held lease moving, stops on release, and reports leases lost to another attempt or worker', async () => {
    const workerId = `keeper-${newSchemaName()}`;
    const [held, released, reaped, stolen] = await Promise.all([1, 2, 3, 4].map(() => runningAttempt(workerId, 2_000)));
    if (!held || !released || !reaped || !stolen) throw new Error('no attempts');
    const { keeper, reports } = await startKeeper({ workerId, leaseMs: 2_000, heartbeatMs: 100 });
    for (const ref of [held, released, reaped, stolen]) keeper.hold(ref);

    const seen = await watchLeaseMove(held, 4, 120);
    const leases = seen.map((s) => s.lease);
    expect(leases).toEqual([...leases].sort((a, b) => a - b));
    const last = seen.at(-1);
    // Renewed to the server's now() + leaseMs at most a beat ago.
    expect((last?.lease ?? 0) - (last?.now ?? 0)).toBeGreaterThan(2_000 - 100 - 250);

    keeper.release(released);
    await sleep(300); // the release has reached the thread and any renewal in flight has ended
    const atRelease = await leaseOf(released);
    const heldBefore = await leaseOf(held);
    await sleep(600);
    expect((await leaseOf(released)).lease).toBe(atRelease.lease);
    expect((await leaseOf(held)).lease).toBeGreaterThan(heldBefore.lease);

    // As the reaper does with an expired lease: attempt 1 ends, attempt 2 starts on another worker.
    await failAttempt(t.db, { ...reaped, error: { code: 'LEASE_EXPIRED', message: 'reaped' } });
    expect(await claimAttempt(t.db, { taskId: reaped.taskId, attempt: 2, workerId: 'another-worker', leaseMs: 60_000 })).toBeDefined();
    // And a row that simply belongs to someone else now.
    await t.db.updateTable('tasks').set({ workerId: 'another-worker' }).where('id', '=', stolen.taskId).execute();

    await vi.waitFor(() => expect(reports.lost).toHaveLength(2), { timeout: 5_000, interval: 50 });
    expect(reports.lost).toEqual(expect.arrayContaining([reaped, stolen]));
    await sleep(400);
    expect(reports.lost).toHaveLength(2); // reported once, then no longer renewed
    expect((await leaseOf({ taskId: reaped.taskId, attempt: 2 })).lease - Date.now()).toBeGreaterThan(50_000);
    expect(reports.errors).toEqual([]);
    await keeper.close();
  });

  it('reports a failed renewal, retries it next beat, and replaces a connection the server dropped', async () => {
    const workerId = `keeper-${newSchemaName()}`;
    const applicationName = `lease-keeper-${t.schema}`;
    const url = new URL(TEST_DATABASE_URL);
    url.searchParams.set('application_name', applicationName);
    const ref = await runningAttempt(workerId, 2_000);
    const { keeper, reports } = await startKeeper({ workerId, leaseMs: 2_000, heartbeatMs: 100, connectionString: url.toString() });
    keeper.hold(ref);
    await watchLeaseMove(ref, 2, 120);

    await sql`alter table tasks rename to tasks_away`.execute(t.db);
    try {
      await vi.waitFor(() => expect(reports.errors.length).toBeGreaterThanOrEqual(2), { timeout: 5_000, interval: 50 });
    } finally {
      await sql`alter table tasks_away rename to tasks`.execute(t.db);
    }
    expect(reports.errors[0]?.message).toMatch(/tasks/);
    await watchLeaseMove(ref, 2, 120);

    const backends = async (): Promise<number[]> =>
      (await sql<{ pid: number }>`select pid from pg_stat_activity where application_name = ${applicationName}`.execute(t.db)).rows.map(
        (row) => row.pid,
      );
    const [first, ...others] = await backends();
    expect(first).toBeDefined();
    expect(others).toEqual([]); // one connection
    await sql`select pg_terminate_backend(${first})`.execute(t.db);
    await watchLeaseMove(ref, 2, 120);
    const replaced = await backends();
    expect(replaced).toHaveLength(1);
    expect(replaced).not.toContain(first);

    // A failing statement is an error to retry, never a lost lease.
    expect(reports.lost).toEqual([]);
    await keeper.close();
  });

  it('close() stops the thread and its connection, leaving no active handles', async () => {
    const workerId = `keeper-${newSchemaName()}`;
    const ref = await runningAttempt(workerId, 2_000);
    // Settled: short-lived timers (a console flush, a query's own) come and go on their own, and
    // sockets an earlier test closed may still be closing: the baseline is two equal looks in a row.
    const resources = async (): Promise<string[]> => {
      await sleep(100);
      return process.getActiveResourcesInfo().sort();
    };
    const settled = async (): Promise<string[]> => {
      let previous = await resources();
      for (let look = 0; look < 50; look++) {
        const current = await resources();
        if (current.join() === previous.join()) return current;
        previous = current;
      }
      throw new Error(`active resources never settled: ${previous.join(', ')}`);
    };
    // What a list holds beyond the baseline. Fewer than before is no leak: the test's own pool may
    // drop idle connections meanwhile (a CI run went from 12 resources to 7 while the keeper ran).
    const extraBeyond = (baseline: readonly string[], list: readonly string[]): string[] => {
      const left = [...baseline];
      return list.filter((resource) => {
        const at = left.indexOf(resource);
        if (at === -1) return true;
        left.splice(at, 1);
        return false;
      });
    };
    await leaseOf(ref); // the test's own pool is in the state it will be in afterwards
    const before = await settled();

    const { keeper } = await startKeeper({ workerId, leaseMs: 2_000, heartbeatMs: 50 });
    keeper.hold(ref);
    await watchLeaseMove(ref, 2, 80);
    expect(extraBeyond(before, await resources())).not.toEqual([]);

    await keeper.close();
    // Gone when close() resolves, not some time later; timers are compared once settled.
    const withoutTimers = (list: readonly string[]): string[] => list.filter((r) => r !== 'Timeout');
    expect(extraBeyond(withoutTimers(before), withoutTimers(process.getActiveResourcesInfo()))).toEqual([]);
    await leaseOf(ref);
    expect(extraBeyond(before, await resources())).toEqual([]);

    await keeper.close(); // closing twice is harmless
    expect(() => keeper.hold(ref)).toThrow(/closed/);
  });
});

interface BlockRun {
  readonly events: HoldAndBlockEvent[];
  /** Lease samples taken by this process while the child's event loop was blocked. */
  readonly samples: LeaseSample[];
}

/** Runs the fixture as a real separate process and samples the lease from here while it blocks. */
async function holdAndBlock(command: readonly string[], mode: HoldAndBlockConfig['mode']): Promise<BlockRun> {
  const workerId = `blocker-${mode}-${newSchemaName()}`;
  const ref = await runningAttempt(workerId, 1_000);
  const config: HoldAndBlockConfig = {
    mode,
    connectionString: TEST_DATABASE_URL,
    schema: t.schema,
    workerId,
    ref,
    leaseMs: 1_000,
    heartbeatMs: 300,
    blockMs: 4_000,
  };
  const [file = '', ...args] = command;
  const child = spawn(file, [...args, FIXTURE, JSON.stringify(config)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const events: HoldAndBlockEvent[] = [];
  let output = '';
  let stderr = '';
  let pending = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) events.push(JSON.parse(line) as HoldAndBlockEvent);
  });
  const saw = (name: HoldAndBlockEvent['event']): boolean => events.some((e) => e.event === name);

  const samples: LeaseSample[] = [];
  let code: number | null | undefined;
  void exited.then((c) => (code = c));
  while (!saw('blocking') && code === undefined) await sleep(10);
  while (!saw('unblocked') && code === undefined) {
    const sample = await leaseOf(ref);
    // Only what was read while the child still had not come back.
    if (!saw('unblocked')) samples.push(sample);
    await sleep(100);
  }
  expect(await exited, `fixture failed:\n${output}\n${stderr}`).toBe(0);
  expect(saw('done')).toBe(true);
  return { events, samples };
}

function lapsed(samples: readonly LeaseSample[]): LeaseSample[] {
  return samples.filter((s) => s.lease <= s.now);
}

describe('a handler that blocks the event loop cannot starve the lease', () => {
  for (const [launcher, command] of [
    ['node --import tsx', [process.execPath, '--import', 'tsx']],
    ['the tsx command', [TSX_BIN]],
  ] as const) {
    it(`keeps the lease alive through a 4 s block with the lease keeper (${launcher})`, async () => {
      const run = await holdAndBlock(command, 'thread');
      expect(run.events.filter((e) => e.event === 'error' || e.event === 'lost')).toEqual([]);
      expect(run.samples.length).toBeGreaterThanOrEqual(15);
      expect(lapsed(run.samples)).toEqual([]);
      // Not a long lease running out slowly: it was renewed, beat after beat, during the block.
      const first = run.samples[0]?.lease ?? 0;
      const last = run.samples.at(-1)?.lease ?? 0;
      expect(last - first).toBeGreaterThan(2_500);
    }, 30_000);
  }

  it('lets the lease lapse with the heartbeat on the main thread instead (the contrast)', async () => {
    const run = await holdAndBlock([process.execPath, '--import', 'tsx'], 'interval');
    expect(run.samples.length).toBeGreaterThanOrEqual(15);
    // Lapsed for most of the block: about 3 of its 4 seconds, sampled every 100 ms.
    expect(lapsed(run.samples).length).toBeGreaterThanOrEqual(10);
  }, 30_000);
});
