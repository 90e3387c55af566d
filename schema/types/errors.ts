import {
  AuthorizationError,
  IdempotencyConflictError,
  InvalidStateError,
  JobQlError,
  NotFoundError,
  RateLimitError,
  ValidationError,
  type FieldIssue,
} from '../../src/errors/index.js';
import { builder } from '../builder.js';
import { JobRef } from './job.js';

/** Errors are data: each mutation's result is a union of its success type and these. */
export const ErrorInterface = builder.interfaceRef<JobQlError>('Error').implement({
  description: 'Something the caller asked for could not be done. `code` is stable; `message` is for people.',
  fields: (t) => ({
    message: t.exposeString('message'),
    code: t.exposeString('code'),
  }),
});

const FieldIssueRef = builder.objectRef<FieldIssue>('FieldIssue').implement({
  description: 'One problem with one input value.',
  fields: (t) => ({
    path: t.exposeString('path', { description: 'Where the value is, as a dotted path into the input, e.g. `tasks.2.payload.ms`.' }),
    message: t.exposeString('message'),
  }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  description: 'The input was refused before anything was written.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    details: t.field({ type: [FieldIssueRef], resolve: (error) => [...error.details] }),
  }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The ID that was asked for.' }),
  }),
});

builder.objectType(InvalidStateError, {
  name: 'InvalidStateError',
  description: 'The operation is not possible from the state the task or job is in now.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    currentStatus: t.exposeString('currentStatus'),
  }),
});

builder.objectType(IdempotencyConflictError, {
  name: 'IdempotencyConflictError',
  description: 'The idempotency key belongs to a job submitted with a different input. Nothing was written.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    idempotencyKey: t.exposeString('idempotencyKey'),
    existingJobId: t.globalID({
      description: 'The job that holds the key.',
      resolve: (error) => ({ type: 'Job', id: error.existingJobId }),
    }),
    existingJob: t.field({
      type: JobRef,
      nullable: true,
      description: 'The job that holds the key; null only if it has been deleted since.',
      resolve: (error) => error.existingJobId,
    }),
  }),
});

builder.objectType(AuthorizationError, {
  name: 'AuthorizationError',
  description: "The caller's key or token does not have a scope this operation needs. Nothing was written.",
  interfaces: [ErrorInterface],
  fields: (t) => ({
    requiredScopes: t.stringList({ description: 'Any one of these scopes would have allowed it.', resolve: (error) => [...error.requiredScopes] }),
  }),
});

builder.objectType(RateLimitError, {
  name: 'RateLimitError',
  description: 'The caller went past its rate (of requests, or of submitted tasks). Nothing was written; the same call succeeds after `retryAfterMs`.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    retryAfterMs: t.exposeInt('retryAfterMs'),
    perMinute: t.exposeInt('perMinute', { description: 'The limit: this many per minute for each caller.' }),
  }),
});

/** What a command on one task or job (retry, cancel) can answer instead of its success. */
export const COMMAND_ERRORS = [ValidationError, NotFoundError, InvalidStateError, AuthorizationError];
