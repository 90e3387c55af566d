import { sql, type Kysely } from 'kysely';

// Migrations are frozen once landed: never edit this file, add a new one.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the database as it was then, not today's types
export async function up(db: Kysely<any>): Promise<void> {
  // Retention finds the jobs that finished longest ago: only finished jobs are in it.
  await db.schema
    .createIndex('jobs_finished')
    .on('jobs')
    .columns(['finished_at', 'id'])
    .where(sql.ref('finished_at'), 'is not', null)
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('jobs_finished').execute();
}
