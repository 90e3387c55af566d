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
 * their own (at concurrency 10, 0.03 acknowledgement statements a job). `next` leaves them out:
 * a delivery whose lock ran out is not both deleted and claimed by one statement.
 *
 * The scan runs once per queue (`unnest … cross join lateral`) with `queue = q.name`: on
 * PostgreSQL 15, `queue = any(…)` cannot read `queue_deliveries_claim_order` in order, and every
 * claim would read and sort the whole backlog (2,000 due rows: 2.4 ms of a 3.3 ms execution).
 * The statement is prepared: planning it took more server time than running it.
 *
 * Each queue's pick is `claimable_deliveries` (migrations 0012 and 0013), a PL/pgSQL function,
 * whose plan is kept for the session, with planner settings that leave the ordered index scan
 * as its only plan. Planned inline, the pick followed the table's statistics, which on a queue
 * table are always stale (it fills and empties faster than autovacuum analyses it): at
 * concurrency 50 that was a bitmap scan of the claim-order index over its dead tuples and a sort,
 * 2.7 ms where the ordered scan takes 0.26 ms. A test plans the claim under settings that make the
 * inline pick a bitmap scan, and checks the plan auto_explain reports for the function. Declared
 * to return one row, the pick lets the statement find what it took by key; otherwise the update
 * of `taken` and the companion's lock scanned every delivery and every waiting task.
 *
 * A `companion` (ConsumeParams) adds its CTEs after `taken`: the worker's attempt claim, so a
 * delivery arrives with its attempt claimed, in one round trip and one statement.
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
