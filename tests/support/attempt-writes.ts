import { CompiledQuery } from 'kysely';
import type { AttemptRef } from '../../src/domain/attempt-ref.js';
import { failureOutcome } from '../../src/domain/attempt-failure.js';
import type { JobEvent } from '../../src/domain/job-event.js';
import type { TaskErrorValue } from '../../src/domain/task-values.js';
import { claimAttempts } from '../../src/store/claim-attempts.js';
import { completeAttempts } from '../../src/store/complete-attempts.js';
import type { Db } from '../../src/store/database.js';
import type { ReleasedTask } from '../../src/store/dependants.js';
import { failAttempts } from '../../src/store/fail-attempts.js';
import { renewLeasesWith, type RenewedRow } from '../../src/store/lease-renewal.js';
import { retryPolicies } from '../../src/store/recovery.js';
import type { TaskRecord } from '../../src/store/records.js';

/**
 * One attempt's writes, each a batch of one of the store's batched writes: what the store tests
 * drive by hand. Each answers undefined when the attempt was fenced out.
 */

export async function claimAttempt(
  db: Db,
  ref: AttemptRef & { readonly workerId: string; readonly leaseMs: number },
): Promise<{ task: TaskRecord; events: readonly JobEvent[] } | undefined> {
  const batch = await claimAttempts(db, [ref], ref);
  const task = batch.tasks.get(ref.taskId);
  return task ? { task, events: batch.events } : undefined;
}

export async function completeAttempt(
  db: Db,
  ref: AttemptRef & { readonly result: unknown },
): Promise<{ events: readonly JobEvent[]; released: ReleasedTask[] } | undefined> {
  const batch = await completeAttempts(db, [{ taskId: ref.taskId, attempt: ref.attempt, resultJson: JSON.stringify(ref.result ?? null), finishedAt: new Date(), hasDependants: true }]);
  return batch.tasks.has(ref.taskId) ? { events: batch.events, released: batch.released } : undefined;
}

export interface AttemptEnd {
  readonly task: TaskRecord;
  readonly events: readonly JobEvent[];
  readonly released: ReleasedTask[];
}

/** Fails the attempt as a worker or the reaper would: its outcome from the task's retry policy. */
export function failAttempt(db: Db, ref: AttemptRef & { readonly error: TaskErrorValue; readonly final?: boolean }): Promise<AttemptEnd | undefined> {
  return endWithoutSuccess(db, ref, { final: ref.final ?? false });
}

/** Gives the attempt back unfinished, as a stopping worker does. */
export function handBackAttempt(db: Db, ref: AttemptRef & { readonly error: TaskErrorValue }): Promise<AttemptEnd | undefined> {
  return endWithoutSuccess(db, ref, { handBack: true });
}

async function endWithoutSuccess(
  db: Db,
  ref: AttemptRef & { readonly error: TaskErrorValue },
  failure: { readonly final?: boolean; readonly handBack?: boolean },
): Promise<AttemptEnd | undefined> {
  const policy = (await retryPolicies(db, [ref])).get(ref.taskId);
  if (!policy) return undefined;
  const finishedAt = new Date();
  const outcome = failureOutcome(policy, failure, finishedAt);
  const batch = await failAttempts(db, [{ taskId: ref.taskId, attempt: ref.attempt, error: ref.error, outcome, finishedAt }]);
  const task = batch.tasks.get(ref.taskId);
  return task ? { task, events: batch.events, released: [] } : undefined;
}

/** The lease keeper's renewal, run through Kysely instead of the keeper thread's bare pg pool. */
export function renewLeases(
  db: Db,
  params: { readonly workerId: string; readonly attempts: readonly AttemptRef[]; readonly leaseMs: number },
): Promise<AttemptRef[]> {
  return renewLeasesWith(async (text, values) => (await db.executeQuery<RenewedRow>(CompiledQuery.raw(text, values))).rows, params);
}
