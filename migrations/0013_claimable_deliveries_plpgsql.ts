import { sql, type Kysely } from 'kysely';

// Migrations are frozen once landed: never edit this file, add a new one.

/** 0012's pick and its signature, settings and `rows 1`, unchanged. */
const signature = sql.raw(`claimable_deliveries(queue_name text, due_at timestamptz, take integer, excluded jsonb)
    returns table (task_id uuid, attempt integer, priority smallint, run_at timestamptz, seq bigint)`);
const settings = sql.raw(`volatile rows 1
    set enable_indexscan = on
    set enable_bitmapscan = off
    set enable_seqscan = off
    set enable_sort = off`);
const pick = sql.raw(`select d.task_id, d.attempt, d.priority, d.run_at, d.seq from queue_deliveries d
      where d.queue = queue_name
        and d.run_at <= due_at
        and (d.locked_until is null or d.locked_until < due_at)
        and (d.task_id, d.attempt) not in (select k.task_id, k.attempt from jsonb_to_recordset(excluded) as k(task_id uuid, attempt integer))
      order by d.priority desc, d.run_at, d.seq
      limit take
      for update of d skip locked`);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the database as it was then, not today's types
export async function up(db: Kysely<any>): Promise<void> {
  // 0012's pick, in PL/pgSQL: a SQL function that cannot be inlined (its SET clauses) is planned
  // again at every call, and the pick's planning was about half of a claim's execution at
  // concurrency 1 (0.38 of 0.84 ms, auto_explain, median of 17). PL/pgSQL keeps the plan of its
  // query for the session, made under the function's settings.
  await sql`create or replace function ${signature} language plpgsql ${settings} as $$
    begin
      return query ${pick};
    end
    $$`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await sql`create or replace function ${signature} language sql ${settings} as $$ ${pick} $$`.execute(db);
}
