import { sql, type RawBuilder } from 'kysely';
import type { Db, RateLimitScope } from './database.js';

/**
 * Rate limits: at most `maxStarts` attempt starts per window of `intervalMs` of a queue or a
 * task type, across every worker and tenant. Windows are fixed and aligned to the epoch, on the
 * database's clock. The attempt claim enforces them (`rateLimitCtes`): it locks the limits its
 * tasks fall under, admits as many as each window has left, counts them in the window, and
 * holds the others back to the next window that may have room.
 */

export interface RateLimit {
  readonly scope: RateLimitScope;
  readonly name: string;
  readonly maxStarts: number;
  readonly intervalMs: number;
  readonly setBy: string;
  readonly updatedAt: Date;
}

const COLUMNS = ['scope', 'name', 'maxStarts', 'intervalMs', 'setBy', 'updatedAt'] as const;

/** Sets the limit; the current window's count is kept unless its interval changes. */
export async function setRateLimit(
  db: Db,
  limit: Pick<RateLimit, 'scope' | 'name' | 'maxStarts' | 'intervalMs' | 'setBy'>,
): Promise<RateLimit> {
  return db
    .insertInto('rateLimits')
    .values({ scope: limit.scope, name: limit.name, maxStarts: limit.maxStarts, intervalMs: limit.intervalMs, setBy: limit.setBy })
    .onConflict((conflict) =>
      conflict.columns(['scope', 'name']).doUpdateSet({
        maxStarts: (eb) => eb.ref('excluded.maxStarts'),
        intervalMs: (eb) => eb.ref('excluded.intervalMs'),
        setBy: (eb) => eb.ref('excluded.setBy'),
        updatedAt: sql<Date>`now()`,
        windowStart: sql<Date>`case when rate_limits.interval_ms = excluded.interval_ms then rate_limits.window_start else 'epoch' end`,
        used: sql<number>`case when rate_limits.interval_ms = excluded.interval_ms then rate_limits.used else 0 end`,
      }),
    )
    .returning(COLUMNS)
    .executeTakeFirstOrThrow();
}

/** Removes the limit; the removed one, or undefined when there was none. */
export async function removeRateLimit(db: Db, key: Pick<RateLimit, 'scope' | 'name'>): Promise<RateLimit | undefined> {
  return db.deleteFrom('rateLimits').where('scope', '=', key.scope).where('name', '=', key.name).returning(COLUMNS).executeTakeFirst();
}

export async function listRateLimits(db: Db): Promise<RateLimit[]> {
  return db.selectFrom('rateLimits').select(COLUMNS).orderBy('scope').orderBy('name').execute();
}

/**
 * CTEs of the attempt claim, after `locked (id, queue, type, job_id, dependency_rank, …)`, the
 * tasks it fenced and locked:
 * - `limits`: the limits those tasks fall under, locked in key order, after every task lock (the
 *   keys are read through an array of `locked`'s, so the task locks are all taken first, as in
 *   every claim: no two claims can wait on each other), with what their current window has left;
 * - `judged`: each locked task, with `held_until` null when every limit it falls under admits it
 *   (its rank among the statement's tasks of that queue or type is within what is left), or else
 *   the start of the next window of the limits that refused it.
 * A limit found already in a later window (a claim that started after this one committed first)
 * is counted in that window.
 */
export function rateLimitCtes(): RawBuilder<unknown> {
  return sql`limits as (
      select l.scope, l.name, l.max_starts, l.interval_ms,
        greatest(l.window_start, win.start) as window_start,
        case when l.window_start >= win.start then l.used else 0 end as used
      from rate_limits l
      cross join lateral (
        select to_timestamp(((floor(extract(epoch from statement_timestamp()) * 1000)::int8 / l.interval_ms) * l.interval_ms) / 1000.0) as start
      ) win
      where (l.scope = 'QUEUE' and l.name = any(array(select distinct queue from locked)))
         or (l.scope = 'TYPE' and l.name = any(array(select distinct type from locked)))
      order by l.scope, l.name
      for update of l
    ), judged as (
      select k.id, k.previous_status,
        greatest(
          case when k.queue_rank > q.max_starts - q.used then q.window_start + make_interval(secs => q.interval_ms / 1000.0) end,
          case when k.type_rank > y.max_starts - y.used then y.window_start + make_interval(secs => y.interval_ms / 1000.0) end
        ) as held_until
      from (
        select locked.*,
          row_number() over (partition by queue order by job_id, dependency_rank, id) as queue_rank,
          row_number() over (partition by type order by job_id, dependency_rank, id) as type_rank
        from locked
      ) k
      left join limits q on q.scope = 'QUEUE' and q.name = k.queue
      left join limits y on y.scope = 'TYPE' and y.name = k.type
    )`;
}

/** The CTE `charged`, after `claimed`: counts the claimed starts in the windows of their limits. */
export function chargeRateLimitsCte(): RawBuilder<unknown> {
  return sql`charged as (
      update rate_limits l set window_start = k.window_start, used = k.used + s.started
      from limits k
      join (
        select scope, name, count(*)::int as started from (
          select 'QUEUE' as scope, queue as name from claimed
          union all
          select 'TYPE', type from claimed
        ) c group by scope, name
      ) s on s.scope = k.scope and s.name = k.name
      where l.scope = k.scope and l.name = k.name
    )`;
}
