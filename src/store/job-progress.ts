import { sql, type Transaction } from 'kysely';
import { taskProgressUnits } from '../domain/job-progress.js';
import type { Database } from './database.js';

/**
 * Brings the counted contribution (`progress_units`) of some of a job's tasks up to date with
 * their rows as they are now, and returns by how much the job's sum must move.
 *
 * Each task keeps the units last counted into its job, so the job's sum moves by the difference:
 * O(tasks touched), never a scan of the job. Callers need not say what a task was before; and a
 * task whose change was somehow not counted is set right the next time it is touched.
 */
export async function recountTaskProgress(trx: Transaction<Database>, jobId: string, taskIds: readonly string[]): Promise<number> {
  if (taskIds.length === 0) return 0;
  const rows = await trx
    .selectFrom('tasks')
    .select(['id', 'status', 'progress', 'progressUnits'])
    // One array parameter: cancelJob may touch more tasks than a statement takes parameters.
    .where(sql<boolean>`id = any(${taskIds}::uuid[])`)
    .where('jobId', '=', jobId)
    // Callers hold these locks already; should one not, rank order is every writer's order.
    .orderBy('dependencyRank')
    .forUpdate()
    .execute();
  const ids: string[] = [];
  const units: number[] = [];
  let delta = 0;
  for (const row of rows) {
    const now = taskProgressUnits(row.status, row.progress);
    if (now === row.progressUnits) continue;
    ids.push(row.id);
    units.push(now);
    delta += now - row.progressUnits;
  }
  if (ids.length > 0) {
    await sql`
      update tasks set progress_units = counted.units
      from unnest(${ids}::uuid[], ${units}::integer[]) as counted(id, units)
      where tasks.id = counted.id`.execute(trx);
  }
  return delta;
}
