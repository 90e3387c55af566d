import { sql } from 'kysely';
import type { ClaimCompanion, Delivery } from '../../queue-adapter.js';
import { deleteAcknowledged, deliveryKeysJson } from './settle-deliveries.js';
import { PREPARED } from '../../../src/pg/prepared-statement.js';
import type { QueryExecutorProvider } from 'kysely';

export interface ClaimParams {
  readonly queues: readonly string[];
  readonly now: Date;
  readonly limit: number;
  readonly consumerId: string;
  readonly lockMs: number;
  /** This consumer's handled deliveries, deleted by the same statement (see AcknowledgementBatcher). */
  readonly acknowledged?: readonly Pick<Delivery, 'taskId' | 'attempt'>[];
}

interface ClaimedRow {
  deliveryTaskId: string;
  deliveryAttempt: number;
  deliveryQueue: string;
  deliveryPriority: number;
  deliveryRunAt: Date;
  deliverySeq: string;
}

export interface ClaimedDelivery<T> {
  readonly delivery: Delivery;
  /** What the claim's companion made of it; absent without one. */
  readonly claimed?: T;
}

/**
 * Takes up to `limit` due deliveries for one consumer in one statement. The CTE picks rows in
 * hand-out order on `queue_deliveries_claim_order` and locks them with SKIP LOCKED, so
 * consumers racing for one queue each get different rows without waiting on each other; the
 * UPDATE stamps them with the consumer and a lock deadline. A row whose lock deadline passed
 * (its consumer died) is due again. `now` is a parameter so that one clock, the workers',
 * decides both what is due and when a lock ends.
 *
 * The consumer's pending acknowledgements ride along as a DELETE in the same statement: a busy
 * consumer claims after every delivery it settles, so its acknowledgements cost no round trip of
 * their own. `next` leaves them out: a delivery whose lock ran out is not both deleted and
 * claimed by one statement. Processing at concurrency 10, the worker's own acknowledgement
 * statements went from 0.41 to 0.03 per job (2.09 to 1.68 statements per job in all) and
 * throughput from 633 to 728 jobs/s (1,362 to 1,447 at concurrency 50; medians of 3–4 runs).
 *
 * The scan runs once per queue (`unnest … cross join lateral`) with `queue = q.name`: on
 * PostgreSQL 15, `queue = any(…)` cannot read `queue_deliveries_claim_order` in order, so every
 * claim read and sorted the whole backlog (2,000 due rows: seq scan and sort, 2.4 ms of a 3.3 ms
 * execution; now an index scan that stops at `limit`). The statement is prepared: planning it
 * took more server time than running it. At concurrency 10, end to end on the bench (2,000 jobs,
 * two interleaved pairs), 344 and 361 jobs/s went to 398 and 416; the adapter alone handing out a
 * backlog of 20,000 at concurrency 10 took 39.0 and 38.6 s before, 21.9 and 19.2 s after.
 *
 * Each queue's pick is `claimable_deliveries` (migration 0012; PL/pgSQL since 0013, which keeps
 * its plan for the session: as a SQL function it was planned at every call, 0.38 ms of a 0.84 ms
 * claim at concurrency 1, and the claim's median execution went 0.72 → 0.57 ms, server log, 1,000
 * claims), a function whose planner settings
 * leave that ordered index scan as its only plan. Planned inline, the pick followed the table's
 * statistics, which on a queue table are always stale (it fills and empties faster than autovacuum
 * analyses it): at concurrency 50 the server log showed a bitmap scan of the claim-order index
 * (5,151 entries for 898 rows, most of them dead tuples, which a bitmap scan never marks dead) and
 * a sort, 2.7 ms of a 12.9 ms claim of 49 deliveries; the ordered scan took 0.26 ms. The claim
 * statements of a worker running 10,000 no-op jobs at concurrency 50 took 4,281 and 3,336 ms of
 * server time before, 2,473 and 2,402 ms after (two interleaved pairs; the worker's statements
 * in all, 9,426 / 6,146 and 6,912 / 5,919 ms). A test plans the claim under settings that make the
 * inline pick a bitmap scan, and checks the plan auto_explain reports for the function. Declared
 * to return one row, the pick lets the statement find what it took by key: without that, the
 * update of `taken` hashed a seq scan of every delivery and `locked` a bitmap scan of every
 * waiting task, O(backlog) per claim (a backlog of 20,000: the worker's statements 13,936 → 12,106
 * ms of server time; planning its claims, 1,319 ms before and 161 ms in a later run after).
 *
 * A `companion` (ConsumeParams) adds its CTEs after `taken`: the worker's attempt claim, so a
 * delivery arrives with its attempt claimed, in one round trip and one statement where there
 * were two. Bench, 2,000 jobs, two interleaved pairs (before / after): pickup p50 8.35 / 6.36 and
 * 9.26 / 6.76 ms, p99 18.9 / 16.9 and 22.8 / 19.6 ms; concurrency 50 1,241 / 1,514 and
 * 1,310 / 1,599 jobs/s; concurrency 10 533 / 565 and 519 / 534; concurrency 1 unchanged (149 /
 * 158 and 163 / 162).
 *
 * RETURNING does not keep the CTE's order, so the rows are sorted again here.
 */
export async function claimDeliveries<T>(db: QueryExecutorProvider, params: ClaimParams, companion?: ClaimCompanion<T>): Promise<ClaimedDelivery<T>[]> {
  const acknowledged = params.acknowledged ?? [];
  const { rows } = await sql<ClaimedRow & Record<string, unknown>>`${PREPARED}
    with acknowledged as (${deleteAcknowledged(params.consumerId, acknowledged)}),
    next as (
      select c.task_id, c.attempt
      from unnest(${params.queues}::text[]) as q(name)
      cross join lateral claimable_deliveries(q.name, ${params.now}, ${params.limit}, ${deliveryKeysJson(acknowledged)}::jsonb) as c
      order by c.priority desc, c.run_at, c.seq
      limit ${params.limit}
    ), taken as (
      update queue_deliveries as d
      set locked_by = ${params.consumerId},
          locked_until = ${params.now}::timestamptz + make_interval(secs => ${params.lockMs / 1000})
      from next
      where d.task_id = next.task_id and d.attempt = next.attempt
      returning d.task_id, d.attempt, d.queue, d.priority, d.run_at, d.seq
    )${companion ? sql`, ${companion.ctes(params.now)}` : sql``}
    select taken.task_id as delivery_task_id, taken.attempt as delivery_attempt, taken.queue as delivery_queue,
      taken.priority as delivery_priority, taken.run_at as delivery_run_at, taken.seq as delivery_seq
      ${companion ? sql`, ${companion.columns}` : sql``}
    from taken ${companion ? companion.join : sql``}`.execute(db);
  const claimed = companion?.read(rows);
  return rows
    .map((row, i) => ({ row, claimed: claimed?.[i] }))
    .sort((a, b) => compareClaimOrder(a.row, b.row))
    .map(({ row, claimed: value }) => ({
      delivery: { taskId: row.deliveryTaskId, attempt: row.deliveryAttempt, queue: row.deliveryQueue, priority: row.deliveryPriority, runAt: row.deliveryRunAt },
      ...(companion ? { claimed: value as T } : {}),
    }));
}

function compareClaimOrder(a: ClaimedRow, b: ClaimedRow): number {
  return b.deliveryPriority - a.deliveryPriority || a.deliveryRunAt.getTime() - b.deliveryRunAt.getTime() || compareSeq(a.deliverySeq, b.deliverySeq);
}

function compareSeq(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
