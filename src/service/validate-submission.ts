import { ValidationError, type FieldIssue } from '../errors/index.js';
import type { NewJob, NewTask } from '../store/insert-job.js';
import type { TaskRegistry } from '../tasks/task-registry.js';
import { validatePayload } from '../tasks/validate-payload.js';
import { checkTaskGraph } from '../domain/task-graph.js';
import { unstorableIssues } from './storable-values.js';
import { LIMITS, submitJobInputSchema, type SubmitJobInput } from './submit-input.js';

const DEFAULT_MAX_ATTEMPTS = 3;

/**
 * Turns a submission into the rows to write, or throws one ValidationError listing every problem
 * (text PostgreSQL cannot store, unknown task types, payloads their schema refuses, sizes and
 * ranges). Nothing is written before this has passed.
 */
export async function validateSubmission(
  input: SubmitJobInput,
  registry: TaskRegistry,
  options: { readonly maxTasksPerJob: number; readonly now: Date },
): Promise<NewJob> {
  const unstorable = unstorableIssues(input);
  if (unstorable.length > 0) throw new ValidationError(unstorable);
  const parsed = submitJobInputSchema(options.maxTasksPerJob).safeParse(input);
  if (!parsed.success) {
    throw new ValidationError(parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message })));
  }
  const job = parsed.data;
  const issues: FieldIssue[] = [];
  if (byteLength(job.metadata) > LIMITS.metadataBytes) {
    issues.push({ path: 'metadata', message: `must serialise to at most ${LIMITS.metadataBytes} bytes of JSON` });
  }

  const graph = checkTaskGraph(job.tasks, { maxEdges: LIMITS.maxDependencies });
  if (!graph.ok) issues.push(...graph.issues.map((issue) => ({ path: issue.path ? `tasks.${issue.path}` : 'tasks', message: issue.message })));

  const tasks: NewTask[] = [];
  for (const [index, task] of job.tasks.entries()) {
    const at = `tasks.${index}`;
    const definition = registry.get(task.type);
    if (!definition) {
      issues.push({ path: `${at}.type`, message: `unknown task type "${task.type}"; known types: ${registry.names().join(', ')}` });
      continue;
    }
    if (byteLength(task.payload) > LIMITS.payloadBytes) {
      issues.push({ path: `${at}.payload`, message: `must serialise to at most ${LIMITS.payloadBytes} bytes of JSON` });
      continue;
    }
    if (task.runAt !== undefined && task.runAt.getTime() - options.now.getTime() > LIMITS.maxDelayMs) {
      issues.push({ path: `${at}.runAt`, message: `must be at most ${LIMITS.maxDelayMs / 86_400_000} days ahead` });
      continue;
    }
    const concurrencyKey = task.concurrencyKey ?? job.concurrencyKey;
    const concurrencyLimit = task.concurrencyLimit ?? job.concurrencyLimit;
    if (concurrencyLimit !== undefined && concurrencyKey === undefined) {
      issues.push({ path: `${at}.concurrencyLimit`, message: 'needs a concurrencyKey (of the task or its job)' });
      continue;
    }
    const payload = await validatePayload(definition.payload, task.payload, `${at}.payload`);
    if (!payload.ok) {
      issues.push(...payload.issues);
      continue;
    }
    tasks.push({
      key: task.key ?? null,
      dependsOn: graph.ok ? (graph.graph.dependsOn[index] ?? []) : [],
      dependencyRank: graph.ok ? (graph.graph.rank[index] ?? index) : index,
      type: task.type,
      queue: task.queue ?? definition.queue ?? job.queue,
      priority: task.priority ?? job.priority,
      payload: payload.value,
      maxAttempts: task.maxAttempts ?? definition.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      timeoutMs: task.timeoutMs ?? definition.timeoutMs ?? null,
      backoff: task.backoff ?? definition.backoff ?? null,
      runAt: runAtOf(task, options.now),
      // A key alone allows one task of it at a time.
      ...(concurrencyKey !== undefined ? { concurrencyKey, concurrencyLimit: concurrencyLimit ?? 1 } : {}),
    });
  }
  if (issues.length > 0) throw new ValidationError(issues);
  return {
    name: job.name,
    queue: job.queue,
    priority: job.priority,
    idempotencyKey: job.idempotencyKey ?? null,
    metadata: job.metadata,
    tasks,
  };
}

function runAtOf(task: { readonly runAt?: Date | undefined; readonly delayMs?: number | undefined }, now: Date): Date {
  if (task.delayMs !== undefined) return new Date(now.getTime() + task.delayMs);
  return task.runAt !== undefined && task.runAt > now ? task.runAt : now;
}

function byteLength(value: unknown): number {
  return value === undefined ? 0 : Buffer.byteLength(JSON.stringify(value));
}
