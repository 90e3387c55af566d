import { sql, type Kysely } from 'kysely';

// Migrations are frozen once landed: never edit this file, add a new one.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the database as it was then, not today's types
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('jobs')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('queue', 'text', (c) => c.notNull())
    .addColumn('priority', 'smallint', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('idempotency_key', 'text')
    .addColumn('metadata', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('task_count', 'integer', (c) => c.notNull())
    // Per-status task counters, kept by every transition under the job's row lock, so the job's
    // status is derived in O(1) instead of counting its tasks (a job may have 10,000).
    .addColumn('queued_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('scheduled_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('running_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('succeeded_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('failed_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('cancelled_count', 'integer', (c) => c.notNull().defaultTo(0))
    // The last event sequence number given out for this job: events are numbered under the job's
    // row lock, so per job their order is their commit order and a subscriber can see any gap.
    .addColumn('event_seq', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('jobs_idempotency_key').unique().on('jobs').column('idempotency_key').execute();
  // The `jobs` connection pages newest first, optionally filtered by one of these columns.
  await db.schema.createIndex('jobs_created').on('jobs').columns(['created_at desc', 'id desc']).execute();
  await db.schema.createIndex('jobs_status_created').on('jobs').columns(['status', 'created_at desc', 'id desc']).execute();
  await db.schema.createIndex('jobs_queue_created').on('jobs').columns(['queue', 'created_at desc', 'id desc']).execute();
  await db.schema.createIndex('jobs_name_created').on('jobs').columns(['name', 'created_at desc', 'id desc']).execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('jobs').execute();
}
