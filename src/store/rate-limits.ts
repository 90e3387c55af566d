import { sql, type RawBuilder } from 'kysely';
import type { Db, RateLimitScope } from './database.js';

/**
 * Rate limits: at most `maxStarts` attempt starts per window of `intervalMs` of a queue or a
 * task type, across every worker and tenant. Windows are fixed and aligned to the epoch, on the
 * database's clock, and an attempt counts in the window of its start. The attempt claim enforces them (`rateLimitsCte`): it locks the limits its
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
 * The CTE `limits` of the attempt claim, after `locked (id, queue, type, …)`, the tasks it fenced
 * and locked: the limits those tasks fall under, locked in key order after every task lock (the
 * keys are read through arrays of `locked`'s, so the task locks are all taken first, as in every
 * claim: no two claims can wait on each other), as the last claim left them.
 */
export function rateLimitsCte(): RawBuilder<unknown> {
  return sql`limits as (
      select l.scope, l.name, l.max_starts, l.interval_ms, l.window_start, l.used
      from rate_limits l
      where (l.scope = 'QUEUE' and l.name = any(array(select distinct queue from locked)))
         or (l.scope = 'TYPE' and l.name = any(array(select distinct type from locked)))
      order by l.scope, l.name
      for update of l
    )`;
}

/**
 * The CTE `windows`, after `limits` and `clock (at)`, the claim's start instant: each limit's
 * window at that instant, and what it has used of it. A limit found already in a later window (a
 * claim whose clock was later committed first) is counted in that window.
 */
export function rateLimitWindowsCte(): RawBuilder<unknown> {
  return sql`windows as (
      select l.scope, l.name, l.max_starts, l.interval_ms,
        greatest(l.window_start, win.start) as window_start,
        case when l.window_start >= win.start then l.used else 0 end as used
      from limits l
      cross join clock
      cross join lateral (
        select to_timestamp(((floor(extract(epoch from clock.at) * 1000)::int8 / l.interval_ms) * l.interval_ms) / 1000.0) as start
      ) win
    )`;
}

/** The CTE `charged`, after `claimed`: counts the claimed starts in the windows of their limits. */
export function chargeRateLimitsCte(): RawBuilder<unknown> {
  return sql`charged as (
      update rate_limits l set window_start = k.window_start, used = k.used + s.started
      from windows k
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
