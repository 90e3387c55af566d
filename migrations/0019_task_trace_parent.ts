import type { Kysely } from 'kysely';

// Migrations are frozen once landed: never edit this file, add a new one.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the database as it was then, not today's types
export async function up(db: Kysely<any>): Promise<void> {
  // The W3C traceparent of the submission that wrote the task, when the submitter traced it: each
  // attempt's span continues that trace.
  await db.schema.alterTable('tasks').addColumn('trace_parent', 'text').execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tasks').dropColumn('trace_parent').execute();
}
