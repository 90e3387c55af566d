import { sql, type Kysely } from 'kysely';

// Migrations are frozen once landed: never edit this file, add a new one.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the database as it was then, not today's types
export async function up(db: Kysely<any>): Promise<void> {
  // At most `max_starts` attempt starts per `interval_ms` window (aligned to the epoch) of a queue
  // or a task type, for every tenant's tasks. `window_start` and `used` are the current window's
  // count, kept by the attempt claim, which locks the row.
  await db.schema
    .createTable('rate_limits')
    .addColumn('scope', 'text', (c) => c.notNull().check(sql`scope in ('QUEUE', 'TYPE')`))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('max_starts', 'integer', (c) => c.notNull().check(sql`max_starts > 0`))
    .addColumn('interval_ms', 'integer', (c) => c.notNull().check(sql`interval_ms > 0`))
    .addColumn('window_start', 'timestamptz', (c) => c.notNull().defaultTo(sql`'epoch'`))
    .addColumn('used', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('set_by', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('rate_limits_pkey', ['scope', 'name'])
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('rate_limits').execute();
}
