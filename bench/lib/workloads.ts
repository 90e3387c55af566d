import type { BenchJob, QueueSystem, Session } from './queue-system.js';

/** The workloads every system runs, each in a fresh session. Times are wall-clock, in this process. */

/** Milliseconds with sub-millisecond resolution, comparable across this process. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

export function benchJobs(count: number): BenchJob[] {
  const sentAt = now();
  return Array.from({ length: count }, (_, seq) => ({ seq, sentAt }));
}

async function inSession<T>(system: QueueSystem, concurrency: number, work: (session: Session) => Promise<T>): Promise<T> {
  const session = await system.open({ concurrency });
  try {
    return await work(session);
  } finally {
    await session.close();
  }
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Jobs per second, submitting one job (of one task) at a time and waiting for each answer. */
export async function enqueueOneByOne(system: QueueSystem, count: number): Promise<number> {
  return inSession(system, 1, async (session) => {
    const jobs = benchJobs(count);
    const started = now();
    for (const job of jobs) await session.enqueueOne(job);
    return count / ((now() - started) / 1_000);
  });
}

/** Jobs per second, submitting in the system's bulk call, 1,000 jobs (or tasks) a call. */
export async function enqueueInBulk(system: QueueSystem, count: number): Promise<number> {
  return inSession(system, 1, async (session) => {
    const jobs = benchJobs(count);
    const started = now();
    await session.enqueueBulk(jobs);
    return count / ((now() - started) / 1_000);
  });
}

/**
 * Jobs per second processed by no-op handlers with `concurrency` in flight: `count` jobs are
 * enqueued first, then the workers start; the clock runs from the first handler's start to the
 * moment the system records the last completion.
 */
export async function processAt(system: QueueSystem, concurrency: number, count: number): Promise<number> {
  return inSession(system, concurrency, async (session) => {
    await session.prefill(benchJobs(count));
    let firstStart = 0;
    await session.startWorkers(concurrency, () => {
      if (firstStart === 0) firstStart = now();
    });
    await until(`${count} completions`, async () => (await session.completed()) >= count, Math.max(120_000, count * 20));
    return count / ((now() - firstStart) / 1_000);
  });
}

/**
 * Milliseconds from the enqueue call to the handler's start, on an idle system with 10 slots:
 * one job at a time, each after the one before has completed and a pause (so idle workers have
 * gone back to waiting), after a few unrecorded warm-up jobs.
 */
export async function pickupLatency(system: QueueSystem, samples: number, warmUp = 5): Promise<number[]> {
  return inSession(system, 10, async (session) => {
    const latencies: number[] = [];
    let notifyStarted: (() => void) | undefined;
    await session.startWorkers(10, (job) => {
      latencies.push(now() - job.sentAt);
      notifyStarted?.();
    });
    for (let seq = 0; seq < samples + warmUp; seq++) {
      const started = new Promise<void>((resolve) => (notifyStarted = resolve));
      await session.enqueueOne({ seq, sentAt: now() });
      await started;
      await until('the completion', async () => (await session.completed()) > seq, 30_000, 2);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return latencies.slice(warmUp);
  });
}
