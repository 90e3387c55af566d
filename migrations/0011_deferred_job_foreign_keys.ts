import { sql, type Kysely } from 'kysely';

// Migrations are frozen once landed: never edit this file, add a new one.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the database as it was then, not today's types
export async function up(db: Kysely<any>): Promise<void> {
  // A foreign-key check takes KEY SHARE on the job row. Checked at once, it was taken by a
  // transaction before it locked the job (a task row updated twice), and held while it waited for
  // the job. A lot statement that locks and updates the job in one statement then deadlocked with
  // it: its update meets the row version of its snapshot, which that lock had made a multixact,
  // and queues for the tuple lock the waiting transaction holds. Checked at commit, the check comes
  // after every writer's own job update and locks its own row version.
  await sql`alter table tasks alter constraint tasks_job_id_fkey deferrable initially deferred`.execute(db);
  await sql`alter table job_events alter constraint job_events_job_id_fkey deferrable initially deferred`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table job_events alter constraint job_events_job_id_fkey not deferrable`.execute(db);
  await sql`alter table tasks alter constraint tasks_job_id_fkey not deferrable`.execute(db);
}
