import { sql, type RawBuilder } from 'kysely';
import type { Db } from './database.js';
import type { WaitingTask } from './recovery.js';

/**
 * Concurrency keys: at most `concurrency_limit` of a tenant's tasks of one `concurrency_key`
 * RUNNING at once, across every worker, counted from the tasks themselves. The attempt claim asks each key's room
 * (`concurrencyRoomsCte`) and parks the tasks it has no room for: QUEUED, with no delivery, so
 * a key with 10,000 waiting tasks holds no place in any queue ahead of another key's one. The
 * workers wake a key's parked tasks when it has room again (`wakeParkedTasks`), oldest first.
 */

/**
 * The CTE `rooms` of the attempt claim, after `locked` and `limits`: each key among the locked
 * tasks with the room it has (its lowest limit among them, less its RUNNING tasks), from
 * `concurrency_room`, which locks the keys (in key order, after the task and limit locks: the
 * one-time filter reads `limits` first) and counts on a snapshot taken after those locks. Not
 * called when no locked task has a key.
 */
export function concurrencyRoomsCte(): RawBuilder<unknown> {
  return sql`keyed as (
      select tenant_id, concurrency_key, min(concurrency_limit) as max from locked
      where concurrency_key is not null group by tenant_id, concurrency_key
    ), rooms as (
      select r.tenant, r.key, r.room from concurrency_room(
        array(select tenant_id from keyed order by tenant_id, concurrency_key),
        array(select concurrency_key from keyed order by tenant_id, concurrency_key),
        array(select max from keyed order by tenant_id, concurrency_key)
      ) r
      where exists (select 1 from keyed) and (select count(*) from limits) >= 0
    )`;
}

/** The most parked tasks one pass wakes, over all keys. */
const WAKE_PER_PASS = 1_000;

/**
 * Wakes parked tasks of keys with room: for each key with parked tasks, as many as its limit
 * less its RUNNING tasks and those already woken (QUEUED, not parked), oldest first; the woken
 * ones, whose deliveries the caller enqueues. Its snapshot may lag a claim that committed
 * meanwhile: it may wake one too many, which the claim, the one that counts exactly, parks again.
 */
export async function wakeParkedTasks(db: Db): Promise<WaitingTask[]> {
  const { rows } = await sql<WaitingTask>`
    with recursive parked_keys(tenant_id, key) as (
      (select tenant_id, concurrency_key from tasks
        where status = 'QUEUED' and concurrency_key is not null and parked_at is not null
        order by tenant_id, concurrency_key limit 1)
      union all
      select next.tenant_id, next.concurrency_key from parked_keys k
      cross join lateral (
        select tenant_id, concurrency_key from tasks
        where status = 'QUEUED' and concurrency_key is not null and parked_at is not null
          and (tenant_id, concurrency_key) > (k.tenant_id, k.key)
        order by tenant_id, concurrency_key limit 1
      ) next
    ), woken as (
      update tasks set parked_at = null, run_at = greatest(run_at, now()), updated_at = now()
      where id in (
        select p.id from parked_keys k
        cross join lateral (
          select min(t.concurrency_limit)
            - (select count(*) from tasks r where r.tenant_id = k.tenant_id and r.concurrency_key = k.key and r.status = 'RUNNING')
            - (select count(*) from tasks q where q.tenant_id = k.tenant_id and q.concurrency_key = k.key and q.status = 'QUEUED' and q.parked_at is null)
            as room
          from tasks t where t.tenant_id = k.tenant_id and t.concurrency_key = k.key and t.status = 'QUEUED' and t.parked_at is not null
        ) free
        cross join lateral (
          select t.id from tasks t
          where t.tenant_id = k.tenant_id and t.concurrency_key = k.key and t.status = 'QUEUED' and t.parked_at is not null
          order by t.parked_at, t.id
          limit greatest(free.room, 0)
          for update of t skip locked
        ) p
        limit ${WAKE_PER_PASS}
      )
      returning id, attempt, queue, priority, run_at
    )
    select * from woken`.execute(db);
  return rows;
}
