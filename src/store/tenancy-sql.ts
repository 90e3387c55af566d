import { sql, type RawBuilder } from 'kysely';
import type { Tenancy } from '../domain/tenancy.js';

/**
 * The condition that keeps a statement inside the caller's tenancy, for a row of `tasks` (whose
 * job is `job_id`) or of `jobs` (whose job is itself): its tenant, and for a job token its one job.
 */
export function withinTenancy(tenancy: Tenancy, row: { readonly table: 'tasks' | 'jobs'; readonly alias?: string }): RawBuilder<boolean> {
  const name = sql.raw(row.alias ?? row.table);
  const jobColumn = sql.raw(row.table === 'tasks' ? 'job_id' : 'id');
  const tenant = sql<boolean>`${name}.tenant_id = ${tenancy.tenant}`;
  return tenancy.jobId === undefined ? tenant : sql<boolean>`${tenant} and ${name}.${jobColumn} = ${tenancy.jobId}::uuid`;
}
