import { sql, type RawBuilder } from 'kysely';
import type { Delivery } from '../../queue-adapter.js';
import type { QueryExecutorProvider } from 'kysely';

type DeliveryKey = Pick<Delivery, 'taskId' | 'attempt'>;

/** The deliveries' keys as JSON, `[{task_id, attempt}, …]`. */
export function deliveryKeysJson(deliveries: readonly DeliveryKey[]): string {
  return JSON.stringify(deliveries.map((d) => ({ task_id: d.taskId, attempt: d.attempt })));
}

/** The deliveries' keys as a table `k(task_id, attempt)`, for a FROM or USING list. */
function deliveryKeys(deliveries: readonly DeliveryKey[]): RawBuilder<unknown> {
  return sql`jsonb_to_recordset(${deliveryKeysJson(deliveries)}::jsonb) as k(task_id uuid, attempt integer)`;
}

/** Deletes handled deliveries; only the holder's lock counts. A statement, or a claim's CTE. */
export function deleteAcknowledged(consumerId: string, deliveries: readonly DeliveryKey[]): RawBuilder<unknown> {
  return sql`
    delete from queue_deliveries as d using ${deliveryKeys(deliveries)}
    where d.task_id = k.task_id and d.attempt = k.attempt and d.locked_by = ${consumerId}`;
}

/** Acknowledges handled deliveries (one statement for a batch). */
export async function acknowledgeDeliveries(db: QueryExecutorProvider, consumerId: string, deliveries: readonly DeliveryKey[]): Promise<void> {
  await deleteAcknowledged(consumerId, deliveries).execute(db);
}

/** Gives claimed deliveries back untouched, due at once for any consumer (a stopping consumer's). */
export async function releaseDeliveries(db: QueryExecutorProvider, consumerId: string, deliveries: readonly DeliveryKey[]): Promise<void> {
  await sql`
    update queue_deliveries as d set locked_by = null, locked_until = null
    from ${deliveryKeys(deliveries)}
    where d.task_id = k.task_id and d.attempt = k.attempt and d.locked_by = ${consumerId}`.execute(db);
}

/** Gives claimed deliveries back due at `until`, for any consumer (a postponed handle's). */
export async function postponeDeliveries(db: QueryExecutorProvider, consumerId: string, deliveries: readonly DeliveryKey[], until: Date): Promise<void> {
  await sql`
    update queue_deliveries as d set locked_by = null, locked_until = null, run_at = ${until}
    from ${deliveryKeys(deliveries)}
    where d.task_id = k.task_id and d.attempt = k.attempt and d.locked_by = ${consumerId}`.execute(db);
}

/** Extends the lock of every delivery a live consumer holds, by its `locked_by` index. */
export async function renewDeliveryLocks(db: QueryExecutorProvider, consumerId: string, now: Date, lockMs: number): Promise<void> {
  await sql`
    update queue_deliveries set locked_until = ${now}::timestamptz + make_interval(secs => ${lockMs / 1000})
    where locked_by = ${consumerId}`.execute(db);
}

/**
 * When the next delivery of these queues becomes claimable: its run time, or the end of its
 * lock if a consumer holds it. Asked only after a claim came back short, to set the wake timer.
 */
export async function nextClaimableAt(db: QueryExecutorProvider, queues: readonly string[]): Promise<Date | null> {
  const { rows } = await sql<{ next: Date | null }>`
    select min(greatest(run_at, coalesce(locked_until, run_at))) as next
    from queue_deliveries where queue = any(${queues}::text[])`.execute(db);
  return rows[0]?.next ?? null;
}
