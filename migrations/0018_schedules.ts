import { sql, type Kysely } from 'kysely';

// Migrations are frozen once landed: never edit this file, add a new one.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the database as it was then, not today's types
export async function up(db: Kysely<any>): Promise<void> {
  // A tenant's cron schedules: each tick submits `job` once, with an idempotency key of the
  // schedule and the tick. `next_run_at` is the next tick to submit (null: the expression has no
  // more), advanced by whoever submitted it.
  await db.schema
    .createTable('schedules')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('cron', 'text', (c) => c.notNull())
    .addColumn('time_zone', 'text', (c) => c.notNull())
    .addColumn('job', 'jsonb', (c) => c.notNull())
    .addColumn('missed_ticks', 'text', (c) => c.notNull().check(sql`missed_ticks in ('SKIP', 'RUN_ONCE', 'RUN_ALL')`))
    .addColumn('missed_limit', 'integer', (c) => c.notNull().check(sql`missed_limit > 0`))
    .addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('CODE', 'API')`))
    .addColumn('paused_at', 'timestamptz')
    .addColumn('next_run_at', 'timestamptz')
    .addColumn('last_run_at', 'timestamptz')
    .addColumn('last_job_id', 'uuid')
    // Raised by every write of the definition: a submitter advances only the revision it read.
    .addColumn('revision', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('schedules_pkey', ['tenant_id', 'name'])
    .execute();
  await db.schema
    .createIndex('schedules_due')
    .on('schedules')
    .column('next_run_at')
    .where(sql.ref('paused_at'), 'is', null)
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('schedules').execute();
}
