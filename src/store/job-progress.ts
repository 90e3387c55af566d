import { sql, type Transaction } from 'kysely';
import { taskProgressUnits } from '../domain/job-progress.js';
import type { Database } from './database.js';

/**
 * Brings the counted contribution (`progress_units`) of some tasks up to date with their rows as
 * they are now, and returns by how much each of their jobs' sums must move.
 *
 * Each task keeps the units last counted into its job, so the job's sum moves by the difference:
 * O(tasks touched), never a scan of the job. Callers need not say what a task was before; and a
 * task whose change was somehow not counted is set right the next time it is touched.
 */
export async function recountTaskProgress(trx: Transaction<Database>, taskIds: readonly string[]): Promise<Map<string, number>> {
  const deltas = new Map<string, number>();
  if (taskIds.length === 0) return deltas;
  const rows = await trx
    .selectFrom('tasks')
    .select(['id', 'jobId', 'status', 'progress', 'progressUnits'])
    // One array parameter: cancelJob may touch more tasks than a statement takes parameters.
    .where(sql<boolean>`id = any(${taskIds}::uuid[])`)
    // Callers hold these locks already; should one not, (job, rank) order is every writer's order.
    .orderBy('jobId')
    .orderBy('dependencyRank')
    .forUpdate()
    .execute();
  const ids: string[] = [];
  const units: number[] = [];
  for (const row of rows) {
    const now = taskProgressUnits(row.status, row.progress);
    if (now === row.progressUnits) continue;
    ids.push(row.id);
    units.push(now);
    deltas.set(row.jobId, (deltas.get(row.jobId) ?? 0) + now - row.progressUnits);
  }
  if (ids.length > 0) {
    await sql`
      update tasks set progress_units = counted.units
      from unnest(${ids}::uuid[], ${units}::integer[]) as counted(id, units)
      where tasks.id = counted.id`.execute(trx);
  }
  return deltas;
}
