import type { RelayedEventBus } from '../../adapters/bus/relayed-event-bus.js';
import { randomBytes, randomUUID } from 'node:crypto';
import type { JobEvent, JobEventData } from '../../src/domain/job-event.js';

let nextEventId = 1_000_000;

/** A unique bus channel per test, so buses of different tests never hear each other. */
export function uniqueChannel(): string {
  return `jobql_test_${randomBytes(6).toString('hex')}`;
}

/**
 * Events of one new job shaped as the store writes them: TASK_QUEUED, JOB_STATUS_CHANGED (no
 * task), then a TASK_PROGRESS per `data`. Not stored: for buses that never read the store.
 */
export function syntheticEvents(progress: readonly JobEventData[]): JobEvent[] {
  const jobId = randomUUID();
  const taskId = randomUUID();
  const at = (i: number): Date => new Date(Date.UTC(2024, 1, 29, 23, 59, 58, 123) + i * 1_001);
  const head: JobEvent[] = [
    { id: String(nextEventId++), jobId, seq: 1, taskId, type: 'TASK_QUEUED', at: at(0), data: { taskStatus: 'QUEUED' } },
    { id: String(nextEventId++), jobId, seq: 2, taskId: null, type: 'JOB_STATUS_CHANGED', at: at(1), data: { jobStatus: 'QUEUED' } },
  ];
  return [
    ...head,
    ...progress.map((data, i): JobEvent => ({
      id: String(nextEventId++),
      jobId,
      seq: i + 3,
      taskId,
      type: 'TASK_PROGRESS',
      at: at(i + 2),
      data,
    })),
  ];
}

export function progressData(current: number, message: string | null = `step ${current}`): JobEventData {
  return { attempt: 1, progress: { current, total: 100, message } };
}

/** Counts per kind of what keeps the process alive: sockets, timers, … */
export function activeResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Two buses of one channel, standing for two processes, once both listen: `open` makes one and
 * routes its errors into the shared list.
 */
export async function openRelayedPair(
  open: (channel: string, onError: (error: Error) => void, index: number) => RelayedEventBus,
): Promise<{ a: RelayedEventBus; b: RelayedEventBus; channel: string; errors: Error[]; close(): Promise<void> }> {
  const channel = uniqueChannel();
  const errors: Error[] = [];
  const onError = (error: Error): void => void errors.push(error);
  const a = open(channel, onError, 0);
  const b = open(channel, onError, 1);
  await Promise.all([a.ready(), b.ready()]);
  return {
    a,
    b,
    channel,
    errors,
    async close() {
      await Promise.all([a.close(), b.close()]);
    },
  };
}
