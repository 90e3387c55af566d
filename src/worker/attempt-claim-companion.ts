import { sql } from 'kysely';
import type { ClaimCompanion } from '../../adapters/queue-adapter.js';
import { claimAttemptCtes, claimedAttemptColumns, claimedBatch, type AttemptClaimParams, type ClaimedBatch } from '../store/claim-attempts.js';
import type { TaskRecord } from '../store/records.js';

/** What the claim made of one delivery: its task, now RUNNING this attempt, or none (fenced out, or held back until `heldUntil`). */
export interface ClaimedAttempt {
  readonly task: TaskRecord | undefined;
  /** A rate limit held the task back: its delivery is to come again then. */
  readonly heldUntil?: Date;
}

/**
 * The worker's attempt claim, run by the delivery claim's own statement on an adapter that claims
 * in the store's database (postgres): a delivery reaches the worker with its attempt claimed, one
 * round trip where there were two. The attempts are fenced as in `claimAttempts`: a stale or
 * duplicate delivery comes with no task. `onBatch` gets each statement's batch, whose events are
 * published once it has committed (or were sent by it, with `params.notify`).
 */
export function attemptClaimCompanion(params: AttemptClaimParams, onBatch: (batch: ClaimedBatch) => void): ClaimCompanion<ClaimedAttempt> {
  return {
    ctes: (now) => claimAttemptCtes(sql`(select task_id as id, attempt from taken) as w`, now, params),
    columns: claimedAttemptColumns(params.notify),
    join: sql`left join claimed on claimed.id = taken.task_id and claimed.attempt = taken.attempt
      left join held on held.id = taken.task_id and held.attempt + 1 = taken.attempt`,
    read(rows) {
      const batch = claimedBatch(rows, params.notify, isDeliveryColumn);
      onBatch(batch);
      return rows.map((row) => {
        const taskId = row['deliveryTaskId'] as string;
        const heldUntil = batch.held.get(taskId);
        return heldUntil ? { task: undefined, heldUntil } : { task: batch.tasks.get(taskId) };
      });
    },
  };
}

/** The delivery's own columns (`delivery_…`, camel-cased): not the task's, which are what `claimAttempts` returns. */
function isDeliveryColumn(key: string): boolean {
  return /^delivery[A-Z]/.test(key);
}
