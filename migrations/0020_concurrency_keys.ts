import { sql, type Kysely } from 'kysely';

// Migrations are frozen once landed: never edit this file, add a new one.

const signature = sql.raw(`concurrency_room(tenants text[], keys text[], limits integer[]) returns table (tenant text, key text, room integer)`);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the database as it was then, not today's types
export async function up(db: Kysely<any>): Promise<void> {
  // A task's concurrency key: at most `concurrency_limit` tasks of one key RUNNING at once.
  await db.schema
    .alterTable('tasks')
    .addColumn('concurrency_key', 'text')
    .addColumn('concurrency_limit', 'integer', (c) => c.check(sql`concurrency_limit > 0`))
    // Set while its key has no room: it waits, QUEUED and with no delivery, until woken.
    .addColumn('parked_at', 'timestamptz')
    .execute();
  // The RUNNING tasks of a key, counted at every claim of one.
  await db.schema
    .createIndex('tasks_running_key')
    .on('tasks')
    .columns(['tenant_id', 'concurrency_key'])
    .where(sql.ref('status'), '=', 'RUNNING')
    .where(sql.ref('concurrency_key'), 'is not', null)
    .execute();
  // A key's QUEUED tasks: those on their way to a claim, and those parked until it has room.
  await db.schema
    .createIndex('tasks_queued_key')
    .on('tasks')
    .columns(['tenant_id', 'concurrency_key', 'parked_at'])
    .where(sql.ref('status'), '=', 'QUEUED')
    .where(sql.ref('concurrency_key'), 'is not', null)
    .execute();
  // Each key's room: its limit less its RUNNING tasks, counted after the key's lock (taken in key
  // order, held to the commit), in a statement of its own and so on a snapshot taken after that
  // lock: two claims of one key see each other's starts, which one statement's snapshot would not.
  await sql`create function ${signature} language plpgsql volatile as $$
    begin
      for i in 1 .. coalesce(array_length(keys, 1), 0) loop
        perform pg_advisory_xact_lock(hashtextextended('jobql.concurrency:' || tenants[i] || ':' || keys[i], 0));
      end loop;
      return query
        select w.tenant, w.key, greatest(0, w.max - (
          select count(*) from tasks t where t.tenant_id = w.tenant and t.concurrency_key = w.key and t.status = 'RUNNING'
        ))::integer
        from unnest(tenants, keys, limits) as w(tenant, key, max);
    end
    $$`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function concurrency_room(text[], text[], integer[])`.execute(db);
  await db.schema.dropIndex('tasks_queued_key').execute();
  await db.schema.dropIndex('tasks_running_key').execute();
  await db.schema.alterTable('tasks').dropColumn('parked_at').dropColumn('concurrency_limit').dropColumn('concurrency_key').execute();
}
