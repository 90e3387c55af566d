import { sql, type Kysely } from 'kysely';

// Migrations are frozen once landed: never edit this file, add a new one.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the database as it was then, not today's types
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('tasks')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('job_id', 'uuid', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('key', 'text')
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('queue', 'text', (c) => c.notNull())
    .addColumn('priority', 'smallint', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('result', 'jsonb')
    .addColumn('error', 'jsonb')
    .addColumn('progress', 'jsonb')
    // The number of the latest attempt started (0 before the first): deliveries and every write
    // of a running attempt are fenced by it.
    .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
    // retryTask grants a fresh budget: attempts may run while attempt - attempt_base < max_attempts.
    .addColumn('attempt_base', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('timeout_ms', 'integer')
    .addColumn('run_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('lease_expires_at', 'timestamptz')
    .addColumn('worker_id', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .addUniqueConstraint('tasks_job_position', ['job_id', 'position'])
    .execute();
  // The reaper's scan: only running attempts, by lease deadline.
  await db.schema
    .createIndex('tasks_running_lease')
    .on('tasks')
    .column('lease_expires_at')
    .where(sql.ref('status'), '=', 'RUNNING')
    .execute();
  // The reconciler's scan: tasks waiting for a delivery.
  await db.schema
    .createIndex('tasks_waiting')
    .on('tasks')
    .columns(['queue', 'run_at'])
    .where(sql.ref('status'), 'in', ['QUEUED', 'SCHEDULED'])
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('tasks').execute();
}
