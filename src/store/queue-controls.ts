import { sql, type RawBuilder } from 'kysely';
import type { Db } from './database.js';

/**
 * What operators set on a queue, for every tenant's tasks on it. A paused queue's tasks are
 * never claimed: the attempt claim reads `queue_controls` (see `notPaused`), so from the
 * pause's commit no claim anywhere starts one.
 */

export interface QueueControl {
  readonly queue: string;
  readonly pausedAt: Date | null;
  readonly pausedBy: string | null;
}

/** Pauses the queue, if it is not paused already (the first pause's time and author are kept). */
export async function pauseQueue(db: Db, params: { readonly queue: string; readonly by: string }): Promise<QueueControl> {
  const { rows } = await sql<QueueControl>`
    insert into queue_controls (queue, paused_at, paused_by, updated_at) values (${params.queue}, now(), ${params.by}, now())
    on conflict (queue) do update set
      paused_at = coalesce(queue_controls.paused_at, now()),
      paused_by = case when queue_controls.paused_at is null then excluded.paused_by else queue_controls.paused_by end,
      updated_at = now()
    returning queue, paused_at, paused_by`.execute(db);
  return rows[0]!;
}

export async function resumeQueue(db: Db, queue: string): Promise<QueueControl> {
  const { rows } = await sql<QueueControl>`
    insert into queue_controls (queue, updated_at) values (${queue}, now())
    on conflict (queue) do update set paused_at = null, paused_by = null, updated_at = now()
    returning queue, paused_at, paused_by`.execute(db);
  return rows[0]!;
}

export async function queueControls(db: Db): Promise<QueueControl[]> {
  return db.selectFrom('queueControls').select(['queue', 'pausedAt', 'pausedBy']).orderBy('queue').execute();
}

/** A condition on a task row (of `tasks` as `table`): its queue is not paused. */
export function notPaused(table: string): RawBuilder<boolean> {
  return sql<boolean>`not exists (select 1 from queue_controls qc where qc.queue = ${sql.ref(`${table}.queue`)} and qc.paused_at is not null)`;
}
