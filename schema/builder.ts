import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import ErrorsPlugin from '@pothos/plugin-errors';
import RelayPlugin from '@pothos/plugin-relay';
import { decodeBoundedGlobalID } from './global-id.js';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { AuthorizationError } from '../src/errors/index.js';
import { isOperator } from '../src/access/index.js';
import type { Context } from './context.js';

/**
 * The scopes a field may require (`authScopes`), checked by the scope-auth plugin before its
 * resolver runs, in this one place: a key's or token's own scopes, and `job`, which the holder of
 * a job token has for the one job it names (every read of it is narrowed to that job).
 */
export interface AuthScopes {
  read: boolean;
  submit: boolean;
  retry: boolean;
  cancel: boolean;
  admin: boolean;
  /** `admin` of the operator tenant: what steers queues and workers, which serve every tenant. */
  operator: boolean;
  job: boolean;
}

export const builder = new SchemaBuilder<{
  Context: Context;
  AuthScopes: AuthScopes;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
  DefaultFieldNullability: false;
}>({
  // Errors first: it wraps scope-auth, so a refusal becomes a mutation's AuthorizationError.
  plugins: [ErrorsPlugin, ScopeAuthPlugin, RelayPlugin, DataloaderPlugin],
  defaultFieldNullability: false,
  relay: {
    decodeGlobalID: decodeBoundedGlobalID,
    clientMutationId: 'omit',
    cursorType: 'String',
    nodeQueryOptions: { authScopes: { read: true, job: true } },
    nodesQueryOptions: { authScopes: { read: true, job: true } },
  },
  errors: {
    defaultTypes: [],
  },
  scopeAuth: {
    authScopes: ({ principal }) => ({
      read: principal.scopes.has('read'),
      submit: principal.scopes.has('submit'),
      retry: principal.scopes.has('retry'),
      cancel: principal.scopes.has('cancel'),
      admin: principal.scopes.has('admin'),
      operator: isOperator(principal),
      job: principal.tenancy.jobId !== undefined,
    }),
    unauthorizedError: (_parent, _context, info) => new AuthorizationError(requiredScopesOf(info.parentType.getFields()[info.fieldName]?.extensions)),
  },
});

/** The scopes a field declared, for the error's message. */
function requiredScopesOf(extensions: unknown): string[] {
  const declared = (extensions as { pothosOptions?: { authScopes?: unknown } } | undefined)?.pothosOptions?.authScopes;
  return declared && typeof declared === 'object' ? Object.keys(declared).filter((scope) => scope !== 'job').map((scope) => (scope === 'operator' ? 'admin of the operator tenant' : scope)) : [];
}

builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('JSON', JSONResolver);

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
