/**
 * A worker's attempts per queue in recent time buckets: started, finished (any end) and failed.
 * Ten-second buckets for the last two minutes and one-minute buckets for the last hour, so that
 * "the last minute" and "the last hour" are each read to within one bucket; the worker keeps it
 * in memory and writes it with its heartbeat, and a queue's figures are the sum over its workers.
 */

export interface AttemptCounts {
  readonly started: number;
  readonly finished: number;
  readonly failed: number;
}

export type AttemptEvent = 'started' | 'finished' | 'failed';

/** What a heartbeat stores: per queue, bucket start (epoch ms) → counts, in both sizes. */
export interface ThroughputSnapshot {
  readonly tenSeconds: Record<string, Record<string, AttemptCounts>>;
  readonly minutes: Record<string, Record<string, AttemptCounts>>;
}

const TEN_SECONDS = 10_000;
const MINUTE = 60_000;
const KEEP_TEN_SECONDS_MS = 2 * MINUTE;
const KEEP_MINUTES_MS = 61 * MINUTE;

type Buckets = Map<string, Map<number, { -readonly [K in keyof AttemptCounts]: number }>>;

export class ThroughputTally {
  readonly #tenSeconds: Buckets = new Map();
  readonly #minutes: Buckets = new Map();

  count(queue: string, event: AttemptEvent, atMs = Date.now()): void {
    bump(this.#tenSeconds, queue, atMs - (atMs % TEN_SECONDS), event);
    bump(this.#minutes, queue, atMs - (atMs % MINUTE), event);
  }

  /** The buckets still of use, the older ones forgotten. */
  snapshot(nowMs = Date.now()): ThroughputSnapshot {
    return { tenSeconds: kept(this.#tenSeconds, nowMs - KEEP_TEN_SECONDS_MS), minutes: kept(this.#minutes, nowMs - KEEP_MINUTES_MS) };
  }
}

/** A queue's counts over the last `windowMs` (a minute: ten-second buckets; longer: minute buckets), summed over snapshots. */
export function countsSince(snapshots: readonly (ThroughputSnapshot | null)[], queue: string, windowMs: number, nowMs = Date.now()): AttemptCounts {
  const size = windowMs <= MINUTE ? TEN_SECONDS : MINUTE;
  const from = nowMs - windowMs - ((nowMs - windowMs) % size);
  const total = { started: 0, finished: 0, failed: 0 };
  for (const snapshot of snapshots) {
    const buckets = (size === TEN_SECONDS ? snapshot?.tenSeconds : snapshot?.minutes)?.[queue] ?? {};
    for (const [start, counts] of Object.entries(buckets)) {
      if (Number(start) < from) continue;
      total.started += counts.started;
      total.finished += counts.finished;
      total.failed += counts.failed;
    }
  }
  return total;
}

function bump(buckets: Buckets, queue: string, start: number, event: AttemptEvent): void {
  let ofQueue = buckets.get(queue);
  if (!ofQueue) buckets.set(queue, (ofQueue = new Map()));
  let counts = ofQueue.get(start);
  if (!counts) ofQueue.set(start, (counts = { started: 0, finished: 0, failed: 0 }));
  counts[event] += 1;
}

function kept(buckets: Buckets, fromMs: number): Record<string, Record<string, AttemptCounts>> {
  const out: Record<string, Record<string, AttemptCounts>> = {};
  for (const [queue, ofQueue] of buckets) {
    for (const start of [...ofQueue.keys()]) if (start < fromMs) ofQueue.delete(start);
    if (ofQueue.size === 0) {
      buckets.delete(queue);
      continue;
    }
    out[queue] = Object.fromEntries([...ofQueue].map(([start, counts]) => [String(start), { ...counts }]));
  }
  return out;
}
