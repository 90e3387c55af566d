import type { Kysely } from 'kysely';

// Migrations are frozen once landed: never edit this file, add a new one.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the database as it was then, not today's types
export async function up(db: Kysely<any>): Promise<void> {
  // The worker's recent attempts per queue, in time buckets (src/domain/throughput-tally.ts), written with each heartbeat.
  await db.schema.alterTable('workers').addColumn('throughput', 'jsonb').execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('workers').dropColumn('throughput').execute();
}
