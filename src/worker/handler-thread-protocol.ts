import type { AbortCause } from '../errors/index.js';
import type { SerializedError } from './serialized-error.js';

/** The messages between a worker and a handler thread, which runs one attempt at a time. */

export interface IsolatedRunRequest {
  /** The URL of the module that exports the task's definition. */
  readonly module: string;
  readonly taskType: string;
  readonly taskId: string;
  readonly jobId: string;
  readonly tenant: string;
  readonly attempt: number;
  /** As stored: the thread runs the schema itself, so the handler gets output made in its realm. */
  readonly payload: unknown;
  readonly dependencies: Readonly<Record<string, unknown>>;
}

export type ToHandlerThread =
  | { readonly type: 'run'; readonly runId: number; readonly request: IsolatedRunRequest }
  | { readonly type: 'abort'; readonly runId: number; readonly code: AbortCause; readonly message: string }
  | { readonly type: 'progress-written'; readonly runId: number; readonly seq: number; readonly error?: SerializedError };

export type FromHandlerThread =
  | { readonly type: 'progress'; readonly runId: number; readonly seq: number; readonly current: number; readonly total: number | null; readonly message: string | null }
  /** One pino line (JSON) that the worker writes through its own logger. */
  | { readonly type: 'log'; readonly runId: number; readonly line: string }
  /** `result` is the JSON text of what the handler returned (`null` when it returned nothing). */
  | { readonly type: 'done'; readonly runId: number; readonly ok: true; readonly result: string }
  | { readonly type: 'done'; readonly runId: number; readonly ok: false; readonly error: SerializedError };
