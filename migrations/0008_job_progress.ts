import { sql, type Kysely } from 'kysely';

// Migrations are frozen once landed: never edit this file, add a new one.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the database as it was then, not today's types
export async function up(db: Kysely<any>): Promise<void> {
  // A task's contribution to its job's progress as last counted into the job's sum, in millionths
  // (a million when SUCCEEDED, current/total while RUNNING, at most 999,999): the job's row moves by the difference
  // on each change, so its progress is kept in O(1) instead of summing its tasks (up to 10,000).
  await db.schema.alterTable('tasks').addColumn('progress_units', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  // The sum of its tasks' progress_units: a million a task overflows int4 past 2,147 tasks.
  await db.schema.alterTable('jobs').addColumn('progress_units', 'bigint', (c) => c.notNull().defaultTo(0)).execute();

  // Jobs stored before this migration: the same rule as src/domain/job-progress.ts, once.
  await sql`
    update tasks set progress_units = case
      when status = 'SUCCEEDED' then 1000000
      when jsonb_typeof(progress -> 'current') = 'number' and jsonb_typeof(progress -> 'total') = 'number'
        and (progress ->> 'total')::numeric > 0
        then greatest(0, least(999999, round((progress ->> 'current')::numeric / (progress ->> 'total')::numeric * 1000000)))::integer
      else 0
    end
    where status = 'SUCCEEDED' or (status = 'RUNNING' and progress is not null)`.execute(db);
  await sql`
    update jobs set progress_units = sums.units
    from (select job_id, sum(progress_units) as units from tasks where progress_units <> 0 group by job_id) as sums
    where jobs.id = sums.job_id`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('jobs').dropColumn('progress_units').execute();
  await db.schema.alterTable('tasks').dropColumn('progress_units').execute();
}
