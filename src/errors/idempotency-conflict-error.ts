import { JobQlError } from './job-ql-error.js';

/** The idempotency key already belongs to a job that was submitted with a different input. */
export class IdempotencyConflictError extends JobQlError {
  override readonly name = 'IdempotencyConflictError';
  readonly code = 'IDEMPOTENCY_CONFLICT';

  constructor(
    readonly idempotencyKey: string,
    readonly existingJobId: string,
  ) {
    super(`idempotency key "${idempotencyKey}" already belongs to a job submitted with a different input`);
  }
}
