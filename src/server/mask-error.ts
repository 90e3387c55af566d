import type { GraphQLError } from 'graphql';
import { createGraphQLError, maskError as maskUnexpected } from 'graphql-yoga';
import { JobQlError, UnauthenticatedError, ValidationError } from '../errors/index.js';

/**
 * What a GraphQL error says when a resolver throws. Mutations answer their errors as data; a
 * query or subscription that meets one of ours (a malformed ID, an unknown job) can only fail,
 * and it fails with the error's own message and `extensions.code` (and a ValidationError's
 * `details`); a request without a valid credential answers HTTP 401, and one that met a limit
 * of the database 503. Anything else is unexpected and masked as yoga masks it.
 *
 * No `instanceof GraphQLError` here: where graphql is loaded twice (its CommonJS and ES builds,
 * as under vitest), the errors yoga hands over are of the other copy. yoga makes the new one.
 */
export function maskError(error: unknown, message: string, isDev?: boolean): Error {
  const wrapped = typeof error === 'object' && error !== null && 'originalError' in error ? (error as GraphQLError) : undefined;
  const original: unknown = wrapped ? wrapped.originalError : error;
  const limit = databaseLimitOf(original);
  if (limit) {
    return createGraphQLError(limit.message, {
      ...(wrapped ? { nodes: wrapped.nodes, path: wrapped.path } : {}),
      extensions: { code: limit.code, http: { status: 503 } },
    });
  }
  if (!(original instanceof JobQlError)) return maskUnexpected(error, message, isDev);
  const details = original instanceof ValidationError ? { details: original.details } : {};
  // yoga answers with the status of `extensions.http` and leaves that extension out of the body.
  const http = original instanceof UnauthenticatedError ? { http: { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } } } : {};
  return createGraphQLError(original.message, {
    ...(wrapped ? { nodes: wrapped.nodes, path: wrapped.path } : {}),
    extensions: { code: original.code, ...details, ...http },
  });
}

/**
 * The API pool's limits, met by a request: a statement that ran past API_STATEMENT_TIMEOUT_MS
 * (PostgreSQL cancelled it), and a pool whose connections stayed busy for its checkout timeout.
 */
function databaseLimitOf(error: unknown): { code: string; message: string } | undefined {
  if (!(error instanceof Error)) return undefined;
  if ((error as { code?: unknown }).code === '57014' && /statement timeout/.test(error.message)) {
    return { code: 'STATEMENT_TIMEOUT', message: 'The request ran past the statement timeout (API_STATEMENT_TIMEOUT_MS)' };
  }
  if (/timeout exceeded when trying to connect/.test(error.message)) {
    return { code: 'DATABASE_BUSY', message: "The database's connections stayed busy: try again" };
  }
  return undefined;
}
