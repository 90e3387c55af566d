import { z } from 'zod';
import { ValidationError, type FieldIssue } from '../errors/index.js';
import type { RateLimitScope } from '../store/database.js';
import { queueNameSchema } from './queue-name.js';
import { unstorableIssues } from './storable-values.js';
import { taskTypeSchema } from './submit-input.js';

/** The bounds of a rate limit: windows from 100 ms to a week, and up to a million starts in one. */
export const RATE_LIMIT_BOUNDS = {
  minIntervalMs: 100,
  maxIntervalMs: 7 * 24 * 60 * 60 * 1000,
  maxStarts: 1_000_000,
} as const;

export interface RateLimitKey {
  readonly scope: RateLimitScope;
  /** The queue's name, or the task type's. */
  readonly name: string;
}

export interface RateLimitInput extends RateLimitKey {
  readonly maxStarts: number;
  readonly intervalMs: number;
}

const nameOf = (scope: RateLimitScope) => (scope === 'QUEUE' ? queueNameSchema : taskTypeSchema);

const boundsSchema = z.object({
  maxStarts: z.number().int().min(1).max(RATE_LIMIT_BOUNDS.maxStarts),
  intervalMs: z.number().int().min(RATE_LIMIT_BOUNDS.minIntervalMs).max(RATE_LIMIT_BOUNDS.maxIntervalMs),
});

/** What is wrong with the key's name: it must be storable and follow the rules of its scope's names. */
function nameIssues(key: RateLimitKey): FieldIssue[] {
  const unstorable = unstorableIssues({ name: key.name });
  if (unstorable.length > 0) return unstorable;
  const parsed = nameOf(key.scope).safeParse(key.name);
  return parsed.success ? [] : [{ path: 'name', message: parsed.error.issues[0]?.message ?? 'not a name' }];
}

/** The key, checked: its name follows the rules of its scope's names. */
export function checkedRateLimitKey(key: RateLimitKey): RateLimitKey {
  const issues = nameIssues(key);
  if (issues.length > 0) throw new ValidationError(issues);
  return { scope: key.scope, name: key.name };
}

/** The limit, checked; a ValidationError naming every field out of bounds. */
export function checkedRateLimitInput(input: RateLimitInput): RateLimitInput {
  const issues = nameIssues(input);
  const bounds = boundsSchema.safeParse({ maxStarts: input.maxStarts, intervalMs: input.intervalMs });
  if (!bounds.success) issues.push(...bounds.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message })));
  if (issues.length > 0) throw new ValidationError(issues);
  return { scope: input.scope, name: input.name, maxStarts: input.maxStarts, intervalMs: input.intervalMs };
}
