import { z } from 'zod';
import { BACKOFF_TYPES } from '../domain/backoff.js';
import { queueNameSchema } from './queue-name.js';

/** The shape of a job submission, checked before anything is written. */

export const LIMITS = {
  nameLength: 200,
  idempotencyKeyLength: 200,
  maxAttempts: 100,
  maxTimeoutMs: 24 * 60 * 60 * 1000,
  /** The serialised metadata, and each task's serialised payload. */
  metadataBytes: 64 * 1024,
  payloadBytes: 256 * 1024,
  taskKeyLength: 200,
  concurrencyKeyLength: 200,
  maxConcurrencyLimit: 10_000,
  /** Edges in a job's dependency graph, all tasks together. */
  maxDependencies: 100_000,
  /** How far ahead `runAt`/`delayMs` may put a task, and the longest wait between attempts. */
  maxDelayMs: 366 * 24 * 60 * 60 * 1000,
} as const;

const priority = z.number().int('must be a whole number').min(1, 'must be from 1 to 10').max(10, 'must be from 1 to 10');

const delay = z.number().int('must be a whole number of milliseconds').min(0).max(LIMITS.maxDelayMs);

export const backoffSchema = z
  .object({
    type: z.enum(BACKOFF_TYPES),
    delayMs: delay,
    maxDelayMs: delay.optional(),
    jitter: z.number().min(0, 'must be from 0 to 1').max(1, 'must be from 0 to 1').optional(),
  })
  .refine((backoff) => backoff.maxDelayMs === undefined || backoff.maxDelayMs >= backoff.delayMs, {
    message: 'must not be less than delayMs',
    path: ['maxDelayMs'],
  });

/** A Date, or an ISO 8601 date-time with its offset (what JSON clients send). */
const instant = z.union([z.date(), z.iso.datetime({ offset: true }).transform((text) => new Date(text))]).refine(
  (date) => !Number.isNaN(date.getTime()),
  'must be a valid date-time',
);

/** What a task type may be called. */
export const taskTypeSchema = z.string().min(1).max(LIMITS.nameLength);

/** At most `concurrencyLimit` tasks of one `concurrencyKey` run at once, across every worker. */
const concurrency = {
  concurrencyKey: z.string().min(1).max(LIMITS.concurrencyKeyLength).optional(),
  concurrencyLimit: z.number().int().min(1).max(LIMITS.maxConcurrencyLimit).optional(),
};

export const taskInputSchema = z
  .object({
    type: taskTypeSchema,
    payload: z.unknown().optional(),
    queue: queueNameSchema.optional(),
    priority: priority.optional(),
    maxAttempts: z.number().int().min(1).max(LIMITS.maxAttempts).optional(),
    timeoutMs: z.number().int().min(1).max(LIMITS.maxTimeoutMs).optional(),
    /** Not before this instant (a past one means now). */
    runAt: instant.optional(),
    /** Not before this many milliseconds after the submission. */
    delayMs: delay.optional(),
    backoff: backoffSchema.optional(),
    /** Names the task for `dependsOn` (and for the dependency results its dependants read). */
    key: z.string().min(1).max(LIMITS.taskKeyLength).optional(),
    /** Keys of tasks of the same job that must succeed before this one starts. */
    dependsOn: z.array(z.string()).optional(),
    ...concurrency,
  })
  .refine((task) => task.runAt === undefined || task.delayMs === undefined, {
    message: 'give runAt or delayMs, not both',
    path: ['delayMs'],
  });

function buildSubmitJobInputSchema(maxTasksPerJob: number) {
  return z.object({
    name: z.string().trim().min(1, 'must not be empty').max(LIMITS.nameLength),
    queue: queueNameSchema.default('default'),
    priority: priority.default(5),
    idempotencyKey: z.string().min(1).max(LIMITS.idempotencyKeyLength).optional(),
    metadata: z.record(z.string(), z.unknown()).default({}),
    /** The default of its tasks' own. */
    ...concurrency,
    tasks: z
      .array(taskInputSchema)
      .min(1, 'a job needs at least one task')
      .max(maxTasksPerJob, `a job may have at most ${maxTasksPerJob} tasks`),
  });
}

export type TaskInput = z.input<typeof taskInputSchema>;
const schemas = new Map<number, ReturnType<typeof buildSubmitJobInputSchema>>();

/** Built once per limit: building a zod schema costs far more than running it. */
export function submitJobInputSchema(maxTasksPerJob: number): ReturnType<typeof buildSubmitJobInputSchema> {
  let schema = schemas.get(maxTasksPerJob);
  if (!schema) {
    schema = buildSubmitJobInputSchema(maxTasksPerJob);
    schemas.set(maxTasksPerJob, schema);
  }
  return schema;
}

export type SubmitJobInput = z.input<ReturnType<typeof buildSubmitJobInputSchema>>;
