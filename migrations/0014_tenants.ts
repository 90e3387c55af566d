import type { Kysely } from 'kysely';

// Migrations are frozen once landed: never edit this file, add a new one.

const LISTING_INDEXES = [
  { name: 'jobs_created', columns: ['created_at desc', 'id desc'] },
  { name: 'jobs_status_created', columns: ['status', 'created_at desc', 'id desc'] },
  { name: 'jobs_queue_created', columns: ['queue', 'created_at desc', 'id desc'] },
  { name: 'jobs_name_created', columns: ['name', 'created_at desc', 'id desc'] },
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a migration sees the database as it was then, not today's types
export async function up(db: Kysely<any>): Promise<void> {
  // Jobs and tasks each carry their tenant, so a read by a task's id is scoped without a join;
  // attempts and events belong to the tenant of their task and job. Rows already there become
  // tenant `default`; then the default goes, so that no insert can leave the tenant out.
  for (const table of ['jobs', 'tasks']) {
    await db.schema.alterTable(table).addColumn('tenant_id', 'text', (c) => c.notNull().defaultTo('default')).execute();
    await db.schema.alterTable(table).alterColumn('tenant_id', (c) => c.dropDefault()).execute();
  }
  // An idempotency key is a tenant's own: two tenants may use the same one.
  await db.schema.dropIndex('jobs_idempotency_key').execute();
  await db.schema.createIndex('jobs_tenant_idempotency_key').unique().on('jobs').columns(['tenant_id', 'idempotency_key']).execute();
  // Every listing is one tenant's.
  for (const index of LISTING_INDEXES) {
    await db.schema.dropIndex(index.name).execute();
    await db.schema.createIndex(`${index.name.replace('jobs_', 'jobs_tenant_')}`).on('jobs').columns(['tenant_id', ...index.columns]).execute();
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  for (const index of LISTING_INDEXES) {
    await db.schema.dropIndex(`${index.name.replace('jobs_', 'jobs_tenant_')}`).execute();
    await db.schema.createIndex(index.name).on('jobs').columns(index.columns).execute();
  }
  await db.schema.dropIndex('jobs_tenant_idempotency_key').execute();
  await db.schema.createIndex('jobs_idempotency_key').unique().on('jobs').column('idempotency_key').execute();
  for (const table of ['jobs', 'tasks']) await db.schema.alterTable(table).dropColumn('tenant_id').execute();
}
