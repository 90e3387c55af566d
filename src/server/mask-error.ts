import type { GraphQLError } from 'graphql';
import { createGraphQLError, maskError as maskUnexpected } from 'graphql-yoga';
import { JobQlError, UnauthenticatedError, ValidationError } from '../errors/index.js';

/**
 * What a GraphQL error says when a resolver throws. Mutations answer their errors as data; a
 * query or subscription that meets one of ours (a malformed ID, an unknown job) can only fail,
 * and it fails with the error's own message and `extensions.code` (and a ValidationError's
 * `details`); a request without a valid credential answers HTTP 401. Anything else is unexpected and masked as yoga masks it.
 *
 * No `instanceof GraphQLError` here: where graphql is loaded twice (its CommonJS and ES builds,
 * as under vitest), the errors yoga hands over are of the other copy. yoga makes the new one.
 */
export function maskError(error: unknown, message: string, isDev?: boolean): Error {
  const wrapped = typeof error === 'object' && error !== null && 'originalError' in error ? (error as GraphQLError) : undefined;
  const original: unknown = wrapped ? wrapped.originalError : error;
  if (!(original instanceof JobQlError)) return maskUnexpected(error, message, isDev);
  const details = original instanceof ValidationError ? { details: original.details } : {};
  // yoga answers with the status of `extensions.http` and leaves that extension out of the body.
  const http = original instanceof UnauthenticatedError ? { http: { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } } } : {};
  return createGraphQLError(original.message, {
    ...(wrapped ? { nodes: wrapped.nodes, path: wrapped.path } : {}),
    extensions: { code: original.code, ...details, ...http },
  });
}
