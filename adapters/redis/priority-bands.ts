/**
 * bee-queue has no priorities, so each jobql queue is split into one bee-queue queue per priority
 * band. Bands, most urgent first: `high` (8–10), `normal` (4–7), `low` (1–3). Within a band,
 * deliveries keep bee-queue's order (first in, first out); priorities inside one band are equal.
 */
export const BANDS = ['high', 'normal', 'low'] as const;

export type Band = (typeof BANDS)[number];

/** A band's urgency: larger is more urgent, so `rank` orders bands for the slot gate. */
export function bandRank(band: Band): number {
  return BANDS.length - 1 - BANDS.indexOf(band);
}

/** Priorities outside 1–10 fall into the nearest band. */
export function bandOf(priority: number): Band {
  if (priority >= 8) return 'high';
  if (priority >= 4) return 'normal';
  return 'low';
}

/** The bee-queue queue that holds `queue`'s deliveries of `band`. */
export function bandQueueName(queue: string, band: Band): string {
  return `${queue}@${band}`;
}

/** A key of a bee-queue queue, built as bee-queue builds it (`Queue#toKey`). */
export function beeQueueKey(keyPrefix: string, queueName: string, suffix: 'waiting' | 'active' | 'delayed' | 'jobs'): string {
  return `${keyPrefix}:${queueName}:${suffix}`;
}
