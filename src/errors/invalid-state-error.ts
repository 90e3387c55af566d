import { JobQlError } from './job-ql-error.js';

/** The operation is legal in general but not from the state the entity is in now. */
export class InvalidStateError extends JobQlError {
  override readonly name = 'InvalidStateError';
  readonly code = 'INVALID_STATE';

  constructor(
    message: string,
    readonly currentStatus: string,
  ) {
    super(message);
  }
}
