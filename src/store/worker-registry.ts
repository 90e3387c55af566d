import { sql } from 'kysely';
import type { ThroughputSnapshot } from '../domain/throughput-tally.js';
import type { Db, ServedQueue } from './database.js';

/**
 * The workers as the store knows them: each registers when it starts, heartbeats while it runs
 * (and learns the queues' controls in the same statement), and says when it stopped. One that
 * stopped heartbeating for longer than its lease is LOST: it died, or its process hangs.
 */

export type WorkerState = 'ALIVE' | 'LOST' | 'STOPPED';

export interface WorkerRecord extends WorkerRegistration {
  readonly running: number;
  /** Its recent attempts per queue, as of its last heartbeat (null before its first). */
  readonly throughput: ThroughputSnapshot | null;
  readonly startedAt: Date;
  readonly lastHeartbeatAt: Date;
  readonly stoppedAt: Date | null;
  readonly state: WorkerState;
}

export interface WorkerRegistration {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly version: string;
  readonly queues: readonly ServedQueue[];
  readonly slots: number;
  readonly leaseMs: number;
}

export async function registerWorker(db: Db, worker: WorkerRegistration): Promise<void> {
  await sql`
    insert into workers (id, host, pid, version, queues, slots, lease_ms, started_at, last_heartbeat_at)
    values (${worker.id}, ${worker.host}, ${worker.pid}, ${worker.version}, ${JSON.stringify(worker.queues)}::jsonb, ${worker.slots}, ${worker.leaseMs}, now(), now())
    on conflict (id) do update set started_at = now(), last_heartbeat_at = now(), stopped_at = null, running = 0`.execute(db);
}

/**
 * The heartbeat: the worker's running count, on the database's clock, and back the queues that
 * are paused now, in one round trip.
 */
export async function heartbeatWorker(
  db: Db,
  params: { readonly id: string; readonly running: number; readonly throughput: ThroughputSnapshot },
): Promise<Set<string>> {
  const { rows } = await sql<{ queue: string }>`
    with beat as (
      update workers set last_heartbeat_at = now(), running = ${params.running}, throughput = ${JSON.stringify(params.throughput)}::jsonb
      where id = ${params.id}
    )
    select queue from queue_controls where paused_at is not null`.execute(db);
  return new Set(rows.map((row) => row.queue));
}

export async function markWorkerStopped(db: Db, id: string): Promise<void> {
  await sql`update workers set stopped_at = now(), running = 0 where id = ${id}`.execute(db);
}

/** The state of a worker row, on the database's clock. */
const STATE = sql<WorkerState>`case when stopped_at is not null then 'STOPPED'
  when last_heartbeat_at < now() - lease_ms * interval '1 millisecond' then 'LOST' else 'ALIVE' end`;

/** Workers that heartbeated since `since` or are still ALIVE, newest first. */
export async function listWorkers(db: Db, params: { readonly since: Date; readonly limit: number }): Promise<WorkerRecord[]> {
  const { rows } = await sql<WorkerRecord>`
    select *, ${STATE} as state from workers
    where last_heartbeat_at >= ${params.since}
    order by started_at desc, id
    limit ${params.limit}`.execute(db);
  return rows;
}

/** Forgets the workers that have not been heard from since `before`. */
export async function forgetWorkers(db: Db, before: Date): Promise<number> {
  const result = await db.deleteFrom('workers').where('lastHeartbeatAt', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}
