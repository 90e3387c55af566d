import { AuthorizationError, IdempotencyConflictError, RateLimitError, ValidationError } from '../../src/errors/index.js';
import { builder } from '../builder.js';
import { BackoffTypeEnum } from '../types/enums.js';
import { JobRef } from '../types/job.js';
import type { SubmitJobInput } from '../../src/service/index.js';

const BackoffInputRef = builder.inputType('BackoffInput', {
  fields: (t) => ({
    type: t.field({ type: BackoffTypeEnum, required: true }),
    delayMs: t.int({ required: true, description: 'The first wait (EXPONENTIAL doubles it each time).' }),
    maxDelayMs: t.int({ required: false, description: 'No wait is longer than this.' }),
    jitter: t.float({ required: false, description: '0–1: up to this fraction of each wait is taken away at random.' }),
  }),
});

const TaskInputRef = builder.inputType('TaskInput', {
  fields: (t) => ({
    type: t.string({ required: true, description: 'A registered task type, e.g. `demo.sleep`.' }),
    payload: t.field({ type: 'JSON', required: false, description: "Checked against the task type's schema." }),
    queue: t.string({ required: false, description: "Defaults to the task type's queue, then the job's." }),
    priority: t.int({ required: false, description: "1–10, higher first. Defaults to the job's." }),
    maxAttempts: t.int({ required: false, description: 'Defaults to the task type’s, then 3.' }),
    timeoutMs: t.int({ required: false, description: 'Aborts an attempt that runs longer.' }),
    runAt: t.field({ type: 'DateTime', required: false, description: 'Not started before this instant (SCHEDULED until then).' }),
    delayMs: t.int({ required: false, description: 'Not started before this many milliseconds from now. Not with runAt.' }),
    backoff: t.field({ type: BackoffInputRef, required: false, description: "The wait between attempts. Defaults to the task type's, else none." }),
    key: t.string({ required: false, description: 'Names the task within its job, for `dependsOn` and for its dependants to read its result by.' }),
    dependsOn: t.stringList({
      required: false,
      description:
        'Keys of tasks of the same job that must SUCCEED before this one starts (it is BLOCKED until then) and whose results its handler reads in `context.dependencies`. If one of them ends otherwise, this task is CANCELLED. Unknown keys and cycles are refused.',
    }),
    concurrencyKey: t.string({
      required: false,
      description:
        "At most `concurrencyLimit` tasks of this key (of any job of the tenant's, say one per user or per model) run at once, across every worker. Defaults to the job's.",
    }),
    concurrencyLimit: t.int({ required: false, description: "1–10000. Defaults to the job's, then 1. Needs a concurrencyKey." }),
  }),
});

export const SubmitJobInputRef = builder.inputType('SubmitJobInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    queue: t.string({ required: false, description: 'Defaults to `default`.' }),
    priority: t.int({ required: false, description: '1–10, higher first. Defaults to 5.' }),
    idempotencyKey: t.string({
      required: false,
      description:
        'Submitting again with the same key and the same input (compared once defaults are filled in; `delayMs` as the delay given) returns the first job and writes nothing; with another input, an IdempotencyConflictError. The key stays bound to its job until the job has been finished for IDEMPOTENCY_KEY_TTL_MS (24 h by default); then it starts a new job.',
    }),
    metadata: t.field({ type: 'JSON', required: false }),
    concurrencyKey: t.string({ required: false, description: "Every task's, unless it has its own." }),
    concurrencyLimit: t.int({ required: false, description: "Every task's, unless it has its own." }),
    tasks: t.field({ type: [TaskInputRef], required: true }),
  }),
});

builder.mutationField('submitJob', (t) =>
  t.field({
    type: JobRef,
    authScopes: { submit: true },
    args: { input: t.arg({ type: SubmitJobInputRef, required: true }) },
    errors: {
      types: [ValidationError, IdempotencyConflictError, AuthorizationError, RateLimitError],
      result: { name: 'SubmitJobSuccess' },
      union: { name: 'SubmitJobResult' },
      dataField: { name: 'job' },
    },
    // `metadata` arrives as any JSON; the service checks it is an object before writing anything.
    resolve: async (_root, { input }, context) => {
      await context.quota.take(input.tasks.length);
      return context.service.submitJob(context.principal.tenancy, withoutNulls(input) as SubmitJobInput);
    },
  }),
);

type WithoutNulls<T> = T extends (infer U)[]
  ? WithoutNulls<U>[]
  : T extends object
    ? { [K in keyof T]: null extends T[K] ? Exclude<WithoutNulls<T[K]>, null> | undefined : WithoutNulls<T[K]> }
    : T;

/** GraphQL gives an explicit `null` for an omitted optional field; the service wants it absent. */
export function withoutNulls<T>(value: T): WithoutNulls<T> {
  if (Array.isArray(value)) return value.map(withoutNulls) as WithoutNulls<T>;
  if (value === null || typeof value !== 'object' || value instanceof Date) return value as WithoutNulls<T>;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    // Payload and metadata are the user's JSON: nulls inside them are data.
    if (field !== null) out[key] = key === 'payload' || key === 'metadata' ? field : withoutNulls(field);
  }
  return out as WithoutNulls<T>;
}
