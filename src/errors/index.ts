export { JobQlError } from './job-ql-error.js';
export { ValidationError, type FieldIssue } from './validation-error.js';
export { NotFoundError } from './not-found-error.js';
export { InvalidStateError } from './invalid-state-error.js';
export { IdempotencyConflictError } from './idempotency-conflict-error.js';
export { toError } from './to-error.js';
export { TaskAbortedError, type AbortCause } from './task-aborted-error.js';
export { codedError } from './coded-error.js';
export { NonRetryableError, isNonRetryable } from './non-retryable-error.js';
