import { sql, type Kysely } from 'kysely';

// Migrations are frozen once landed: never edit this file, add a new one.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the database as it was then, not today's types
export async function up(db: Kysely<any>): Promise<void> {
  // The postgres queue adapter's deliveries: one row per pending or in-flight "run task T,
  // attempt N". A consumer locks rows it hands out until `locked_until`; acknowledging deletes.
  await db.schema
    .createTable('queue_deliveries')
    .addColumn('task_id', 'uuid', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('queue', 'text', (c) => c.notNull())
    .addColumn('priority', 'smallint', (c) => c.notNull())
    .addColumn('run_at', 'timestamptz', (c) => c.notNull())
    // FIFO among equal priority and run time.
    .addColumn('seq', 'bigserial', (c) => c.notNull())
    .addColumn('locked_by', 'text')
    .addColumn('locked_until', 'timestamptz')
    .addPrimaryKeyConstraint('queue_deliveries_pkey', ['task_id', 'attempt'])
    .execute();
  // The claim's scan, in the order it hands deliveries out.
  await db.schema
    .createIndex('queue_deliveries_claim_order')
    .on('queue_deliveries')
    .expression(sql`queue, priority desc, run_at, seq`)
    .execute();
  // Lock renewal and acknowledgement look rows up by their consumer.
  await db.schema
    .createIndex('queue_deliveries_locked_by')
    .on('queue_deliveries')
    .column('locked_by')
    .where(sql.ref('locked_by'), 'is not', null)
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('queue_deliveries').execute();
}
