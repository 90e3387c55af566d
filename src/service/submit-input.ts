import { z } from 'zod';

/** The shape of a job submission, checked before anything is written. */

export const LIMITS = {
  nameLength: 200,
  queueLength: 100,
  idempotencyKeyLength: 200,
  maxAttempts: 100,
  maxTimeoutMs: 24 * 60 * 60 * 1000,
  /** The serialised metadata, and each task's serialised payload. */
  metadataBytes: 64 * 1024,
  payloadBytes: 256 * 1024,
} as const;

const queueName = z
  .string()
  .min(1)
  .max(LIMITS.queueLength)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'must start with a letter or digit and use only letters, digits and . _ : -');

const priority = z.number().int('must be a whole number').min(1, 'must be from 1 to 10').max(10, 'must be from 1 to 10');

export const taskInputSchema = z.object({
  type: z.string().min(1).max(LIMITS.nameLength),
  payload: z.unknown().optional(),
  queue: queueName.optional(),
  priority: priority.optional(),
  maxAttempts: z.number().int().min(1).max(LIMITS.maxAttempts).optional(),
  timeoutMs: z.number().int().min(1).max(LIMITS.maxTimeoutMs).optional(),
});

export function submitJobInputSchema(maxTasksPerJob: number) {
  return z.object({
    name: z.string().trim().min(1, 'must not be empty').max(LIMITS.nameLength),
    queue: queueName.default('default'),
    priority: priority.default(5),
    idempotencyKey: z.string().min(1).max(LIMITS.idempotencyKeyLength).optional(),
    metadata: z.record(z.string(), z.unknown()).default({}),
    tasks: z
      .array(taskInputSchema)
      .min(1, 'a job needs at least one task')
      .max(maxTasksPerJob, `a job may have at most ${maxTasksPerJob} tasks`),
  });
}

export type TaskInput = z.input<typeof taskInputSchema>;
export type SubmitJobInput = z.input<ReturnType<typeof submitJobInputSchema>>;
export type ParsedSubmitJobInput = z.output<ReturnType<typeof submitJobInputSchema>>;
