import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { NotFoundError, ValidationError } from '../../src/errors/index.js';
import { maskError } from '../../src/server/mask-error.js';

const asResolverError = (original: Error): GraphQLError => new GraphQLError(original.message, { originalError: original, path: ['jobProgress'] });

describe('maskError', () => {
  it('lets our errors through with their code, and a validation error’s details', () => {
    const notFound = maskError(asResolverError(new NotFoundError('Job', 'Sm9i')), 'Unexpected error.') as GraphQLError;
    expect(notFound.message).toBe('Job Sm9i was not found');
    expect(notFound.extensions).toEqual({ code: 'NOT_FOUND' });
    expect(notFound.path).toEqual(['jobProgress']);
    const invalid = maskError(ValidationError.field('after', 'no event ID'), 'Unexpected error.') as GraphQLError;
    expect(invalid.extensions).toEqual({ code: 'VALIDATION_FAILED', details: [{ path: 'after', message: 'no event ID' }] });
  });

  it('masks anything else, thrown in a resolver or not', () => {
    for (const error of [asResolverError(new Error('password=hunter2')), new TypeError('x is undefined')]) {
      const masked = maskError(error, 'Unexpected error.', false) as GraphQLError;
      expect(masked.message).toBe('Unexpected error.');
      expect(masked.extensions).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', unexpected: true });
    }
  });

  it('names the database limits a request met, with 503, and no SQL text', () => {
    const timeout = Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' });
    const masked = maskError(asResolverError(timeout), 'Unexpected error.', false) as GraphQLError;
    expect(masked.extensions).toEqual({ code: 'STATEMENT_TIMEOUT', http: { status: 503 } });
    expect(masked.path).toEqual(['jobProgress']);
    const busy = maskError(asResolverError(new Error('timeout exceeded when trying to connect')), 'Unexpected error.', false) as GraphQLError;
    expect(busy.extensions).toEqual({ code: 'DATABASE_BUSY', http: { status: 503 } });
    // Another cancellation (an operator's pg_cancel_backend) is not a limit of ours.
    const cancelled = Object.assign(new Error('canceling statement due to user request'), { code: '57014' });
    expect((maskError(asResolverError(cancelled), 'Unexpected error.', false) as GraphQLError).extensions).toMatchObject({ code: 'INTERNAL_SERVER_ERROR' });
  });
});
