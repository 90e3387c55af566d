/**
 * What the harness asks of every job system it measures, ours and the peers', so that each
 * workload runs the same way on all of them.
 *
 * A *session* is one measurement's fresh namespace (a schema, a key prefix, a queue name): nothing
 * left by an earlier measurement is in it.
 */

/** The payload of every benchmark job: its number, and when it was sent (for pickup latency). */
export interface BenchJob {
  readonly seq: number;
  readonly sentAt: number;
}

/** Called as a handler starts, before it returns (the handler itself does nothing else). */
export type OnStart = (job: BenchJob) => void;

export interface QueueSystem {
  /** The row label, e.g. `jobql postgres`, `BullMQ`. */
  readonly name: string;
  readonly ours: boolean;
  /** `concurrency`: the jobs the session's workers will have in flight, if it starts them. */
  open(options: { readonly concurrency: number }): Promise<Session>;
}

export interface Session {
  enqueueOne(job: BenchJob): Promise<void>;
  /** Many jobs in as few calls as the system offers (its bulk API). */
  enqueueBulk(jobs: readonly BenchJob[]): Promise<void>;
  /** Independent jobs to be processed, put in as fast as the system takes them (not timed). */
  prefill(jobs: readonly BenchJob[]): Promise<void>;
  /** Starts workers with this many jobs in flight; `onStart` sees each handler begin. */
  startWorkers(concurrency: number, onStart: OnStart): Promise<void>;
  /** How many jobs have completed since the workers started, as the system itself records completion. */
  completed(): Promise<number>;
  close(): Promise<void>;
}

/** A session whose prefill is its bulk enqueue: the peers' bulk calls make independent jobs. */
export function prefillingInBulk(session: Omit<Session, 'prefill'>): Session {
  return { ...session, prefill: (jobs) => session.enqueueBulk(jobs) };
}
