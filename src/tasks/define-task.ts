import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { Logger } from 'pino';
import type { BackoffPolicy } from '../domain/backoff.js';

/** What a handler gets for one attempt of one task. */
export interface TaskContext<Payload> {
  readonly taskId: string;
  readonly jobId: string;
  /** The tenant whose job this is. */
  readonly tenant: string;
  readonly payload: Payload;
  /** 1 for the first run, counting every attempt the task has made. */
  readonly attempt: number;
  /** The results of the tasks it depends on (`dependsOn`), by their keys; empty without any. */
  readonly dependencies: Readonly<Record<string, unknown>>;
  /** Fires when the task is cancelled, times out, or this worker lost its lease on it. */
  readonly signal: AbortSignal;
  /** Reports progress; frequent calls are coalesced, the latest value always lands. */
  progress(current: number, total?: number, message?: string): Promise<void>;
  readonly log: Logger;
}

export interface TaskDefinition<Payload = unknown, Result = unknown> {
  readonly name: string;
  /** Any Standard Schema (zod 4, valibot, arktype…): checked at submit, its output is the payload. */
  readonly payload: StandardSchemaV1<unknown, Payload>;
  readonly handler: (context: TaskContext<Payload>) => Promise<Result> | Result;
  readonly queue?: string;
  readonly maxAttempts?: number;
  readonly timeoutMs?: number;
  /** The wait between attempts; a task's own `backoff` overrides it. Absent: retry at once. */
  readonly backoff?: BackoffPolicy;
  /** Run each attempt in a worker thread, so that it can be stopped: see `TaskIsolation`. */
  readonly isolation?: TaskIsolation;
}

/**
 * An isolated task type runs each attempt in a worker thread of its own (threads are reused
 * between attempts). When the attempt is aborted (a timeout, a cancel, a lost lease, shutdown),
 * the handler's signal fires in that thread, and if it has not returned within ABORT_GRACE_MS
 * the thread is terminated: this stops even a handler that ignores its signal or is stuck in CPU
 * work, and a busy handler never blocks the worker's own event loop. The price: the payload, the
 * result and progress cross a thread boundary (structured clone), and the thread imports
 * `module` (which must export the definition and be free of start-up side effects) on first use.
 */
export interface TaskIsolation {
  /** The module that exports this definition: `import.meta.url` where `defineTask` is called. */
  readonly module: string;
}

/**
 * A definition of any payload type, as a registry holds them. `any` because the payload type is
 * both produced (by the schema) and consumed (by the handler), so no other type admits them all;
 * `defineTask` already checked each handler against its own schema.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTaskDefinition = TaskDefinition<any, unknown>;

/** Declares a task type; the handler's payload type is inferred from the schema. */
export function defineTask<Schema extends StandardSchemaV1, Result>(definition: {
  readonly name: string;
  readonly payload: Schema;
  readonly handler: (context: TaskContext<StandardSchemaV1.InferOutput<Schema>>) => Promise<Result> | Result;
  readonly queue?: string;
  readonly maxAttempts?: number;
  readonly timeoutMs?: number;
  readonly backoff?: BackoffPolicy;
  readonly isolation?: TaskIsolation;
}): TaskDefinition<StandardSchemaV1.InferOutput<Schema>, Result> {
  return definition as TaskDefinition<StandardSchemaV1.InferOutput<Schema>, Result>;
}
