import { createHash } from 'node:crypto';
import type { NewJob } from '../store/insert-job.js';
import { canonicalJson } from './canonical-json.js';
import type { SubmitJobInput } from './submit-input.js';

/**
 * The fingerprint of a submission, to tell whether a second one with the same idempotency key
 * asks for the same thing: sha256 (hex) of the canonical JSON of the validated job.
 *
 * The validated job is used, not the raw input, so defaults and normalisation count (leaving out
 * `queue` equals sending `default`). Every field of it counts except the key itself and each
 * task's `runAt`, which is computed from the moment of submission; a task's start is counted as
 * it was asked for instead: `delayMs` as a duration (0 is the same as none), `runAt` as the
 * instant given. So the same `delayMs` re-sent later is the same input, and so is the same
 * `runAt` re-sent after that instant has passed.
 */
export function submissionHash(job: NewJob, input: SubmitJobInput): string {
  const { idempotencyKey: _key, traceParent: _trace, tasks, ...rest } = job;
  const canonical = {
    ...rest,
    // The rank follows from dependsOn; an empty dependsOn is left out so that hashes stay as they were before dependencies.
    tasks: tasks.map(({ runAt: _computed, dependencyRank: _derived, dependsOn, ...task }, index) => ({
      ...task,
      ...(dependsOn?.length ? { dependsOn } : {}),
      // Stored as null when absent.
      payload: task.payload ?? null,
      start: requestedStart(input.tasks[index]),
    })),
  };
  return createHash('sha256').update(canonicalJson(canonical)).digest('hex');
}

function requestedStart(task: { readonly runAt?: Date | string | undefined; readonly delayMs?: number | undefined } | undefined) {
  if (task?.delayMs !== undefined && task.delayMs > 0) return { delayMs: task.delayMs };
  if (task?.runAt !== undefined) return { runAt: new Date(task.runAt).toISOString() };
  return undefined;
}
