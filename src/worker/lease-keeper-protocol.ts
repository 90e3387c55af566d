import type { AttemptRef } from '../store/attempts.js';

/** What the lease keeper thread is started with (`workerData`). */
export interface LeaseKeeperThreadData {
  readonly connectionString: string;
  readonly schema: string | undefined;
  readonly workerId: string;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  /** Attempts to renew from the first beat: a restarted thread takes over what its predecessor held. */
  readonly held: readonly AttemptRef[];
}

export type ToLeaseKeeperThread =
  | { readonly type: 'hold'; readonly ref: AttemptRef }
  | { readonly type: 'release'; readonly ref: AttemptRef }
  | { readonly type: 'close' };

export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  readonly code: string | undefined;
}

export type FromLeaseKeeperThread =
  | { readonly type: 'ready' }
  | { readonly type: 'lost'; readonly refs: readonly AttemptRef[] }
  | { readonly type: 'error'; readonly error: SerializedError };

export function attemptKey(ref: AttemptRef): string {
  return `${ref.taskId}:${ref.attempt}`;
}

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), stack: undefined, code: undefined };
  const code = (error as { code?: unknown }).code;
  return { name: error.name, message: error.message, stack: error.stack, code: typeof code === 'string' ? code : undefined };
}

export function deserializeError(serialized: SerializedError): Error {
  const error = new Error(serialized.message);
  error.name = serialized.name;
  if (serialized.stack !== undefined) error.stack = serialized.stack;
  return serialized.code === undefined ? error : Object.assign(error, { code: serialized.code });
}
