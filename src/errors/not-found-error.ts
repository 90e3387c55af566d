import { JobQlError } from './job-ql-error.js';

export class NotFoundError extends JobQlError {
  override readonly name = 'NotFoundError';
  readonly code = 'NOT_FOUND';

  constructor(
    readonly entity: string,
    readonly id: string,
  ) {
    super(`${entity} ${id} was not found`);
  }
}
