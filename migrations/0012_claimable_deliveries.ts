import { sql, type Kysely } from 'kysely';

// Migrations are frozen once landed: never edit this file, add a new one.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the database as it was then, not today's types
export async function up(db: Kysely<any>): Promise<void> {
  // The deliveries a claim takes from one queue, in hand-out order, locked with SKIP LOCKED; the
  // `excluded` keys (the claiming consumer's acknowledgements, deleted by the same statement) are
  // left out. Its planner settings leave one plan, whatever the statistics say: the ordered scan
  // of queue_deliveries_claim_order that stops at `take` (see adapters/postgres/sql/claim-deliveries.ts).
  // `rows 1` tells the claim's planner that a pick is small beside the tables it joins: the rows
  // taken are then found by key (deliveries, tasks) instead of by hashing a scan of every row.
  await sql`
    create function claimable_deliveries(queue_name text, due_at timestamptz, take integer, excluded jsonb)
    returns table (task_id uuid, attempt integer, priority smallint, run_at timestamptz, seq bigint)
    language sql volatile rows 1
    set enable_indexscan = on
    set enable_bitmapscan = off
    set enable_seqscan = off
    set enable_sort = off
    as $$
      select d.task_id, d.attempt, d.priority, d.run_at, d.seq from queue_deliveries d
      where d.queue = queue_name
        and d.run_at <= due_at
        and (d.locked_until is null or d.locked_until < due_at)
        and (d.task_id, d.attempt) not in (select k.task_id, k.attempt from jsonb_to_recordset(excluded) as k(task_id uuid, attempt integer))
      order by d.priority desc, d.run_at, d.seq
      limit take
      for update of d skip locked
    $$`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function claimable_deliveries(text, timestamptz, integer, jsonb)`.execute(db);
}
