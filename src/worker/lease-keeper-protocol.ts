import type { SerializedError } from './serialized-error.js';
import type { AttemptRef } from '../domain/attempt-ref.js';

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

export type FromLeaseKeeperThread =
  | { readonly type: 'ready' }
  | { readonly type: 'lost'; readonly refs: readonly AttemptRef[] }
  | { readonly type: 'error'; readonly error: SerializedError };

export function attemptKey(ref: AttemptRef): string {
  return `${ref.taskId}:${ref.attempt}`;
}
