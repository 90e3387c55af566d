import { JobQlError } from './job-ql-error.js';

export interface FieldIssue {
  /** Where the bad value is, as a dotted path into the input (`tasks.2.payload.ms`). */
  readonly path: string;
  readonly message: string;
}

export class ValidationError extends JobQlError {
  override readonly name = 'ValidationError';
  readonly code = 'VALIDATION_FAILED';
  readonly details: readonly FieldIssue[];

  constructor(details: readonly FieldIssue[]) {
    super(ValidationError.summarise(details));
    this.details = details;
  }

  static field(path: string, message: string): ValidationError {
    return new ValidationError([{ path, message }]);
  }

  private static summarise(details: readonly FieldIssue[]): string {
    const first = details[0];
    if (!first) return 'Invalid input';
    const more = details.length > 1 ? ` (and ${details.length - 1} more)` : '';
    return `Invalid input at ${first.path || '(root)'}: ${first.message}${more}`;
  }
}
