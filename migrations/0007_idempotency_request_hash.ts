import type { Kysely } from 'kysely';

// Migrations are frozen once landed: never edit this file, add a new one.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the database as it was then, not today's types
export async function up(db: Kysely<any>): Promise<void> {
  // The sha256 of the submission that claimed the job's idempotency key: the same key sent with
  // another input is refused. Null for jobs without a key and for those stored before this column.
  await db.schema.alterTable('jobs').addColumn('idempotency_request_hash', 'text').execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('jobs').dropColumn('idempotency_request_hash').execute();
}
