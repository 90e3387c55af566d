import { sql, type Kysely } from 'kysely';

// Migrations are frozen once landed: never edit this file, add a new one.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the database as it was then, not today's types
export async function up(db: Kysely<any>): Promise<void> {
  // "task_id waits for depends_on": both tasks of one job. Looked up both ways: a task's
  // dependencies (their results, on a retry their statuses) and a finished task's dependants.
  await db.schema
    .createTable('task_dependencies')
    .addColumn('task_id', 'uuid', (c) => c.notNull().references('tasks.id').onDelete('cascade'))
    .addColumn('depends_on', 'uuid', (c) => c.notNull().references('tasks.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('task_dependencies_pk', ['task_id', 'depends_on'])
    .execute();
  await db.schema.createIndex('task_dependencies_depends_on').on('task_dependencies').columns(['depends_on', 'task_id']).execute();

  await db.schema.alterTable('jobs').addColumn('blocked_count', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema
    .alterTable('tasks')
    // How many tasks it depends on, and how many of those have not succeeded yet: BLOCKED until 0.
    .addColumn('dependency_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('pending_dependencies', 'integer', (c) => c.notNull().defaultTo(0))
    // How many tasks depend on it: a task with none skips the dependants' lookup when it ends.
    .addColumn('dependant_count', 'integer', (c) => c.notNull().defaultTo(0))
    // Its place in a topological order of its job (dependencies first): the order in which any
    // write that locks several of a job's tasks locks them. Tasks stored before this had no
    // dependencies, so their list position is such an order.
    .addColumn('dependency_rank', 'integer')
    .execute();
  await sql`update tasks set dependency_rank = position`.execute(db);
  await db.schema.alterTable('tasks').alterColumn('dependency_rank', (c) => c.setNotNull()).execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('tasks')
    .dropColumn('dependency_rank')
    .dropColumn('dependant_count')
    .dropColumn('pending_dependencies')
    .dropColumn('dependency_count')
    .execute();
  await db.schema.alterTable('jobs').dropColumn('blocked_count').execute();
  await db.schema.dropTable('task_dependencies').execute();
}
