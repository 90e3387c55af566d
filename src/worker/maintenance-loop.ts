import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Db } from '../store/database.js';
import { deleteExpiredJobsBatch, type RetentionPolicy } from '../store/retention.js';
import { every, type Loop } from './every.js';
import { forgetWorkers } from '../store/worker-registry.js';

export interface MaintenanceOptions {
  readonly db: Db;
  readonly logger: Logger;
  readonly intervalMs: number;
  readonly retention: RetentionPolicy;
}

/** Tasks removed by one batch (one transaction): a few milliseconds of work, so no lock is held long. */
const BATCH_TASKS = 5_000;
/** Workers not heard from for this long leave the registry. */
const FORGET_WORKERS_AFTER_MS = 7 * 24 * 60 * 60 * 1000;
/** One sweep stops after this long and leaves the rest to the next tick. */
const SWEEP_BUDGET_MS = 10_000;

/**
 * The maintenance every worker runs: each `intervalMs`, a sweep of finished jobs past their
 * retention, and of workers long gone. Every worker runs it; the retention lock lets one batch run at a time across all of
 * them, and a worker that finds it taken skips its turn.
 */
export function startMaintenanceLoop(options: MaintenanceOptions): Loop {
  return every(options.intervalMs, () => sweepExpiredJobs(options), 'retention sweep', options.logger);
}

export interface Sweep {
  readonly jobs: number;
  readonly tasks: number;
  readonly batches: number;
}

/** Deletes expired jobs in batches until none is left, another process holds the lock, or the budget is spent. */
async function sweepExpiredJobs(options: MaintenanceOptions, now: () => Date = () => new Date()): Promise<Sweep> {
  const startedAt = Date.now();
  let jobs = 0;
  let tasks = 0;
  let batches = 0;
  for (;;) {
    const batch = await deleteExpiredJobsBatch(options.db, { now: now(), policy: options.retention, maxTasks: BATCH_TASKS });
    if (!batch.ran || batch.jobs === 0) break;
    jobs += batch.jobs;
    tasks += batch.tasks;
    batches += 1;
    if (Date.now() - startedAt > SWEEP_BUDGET_MS) break;
    await yieldToLoop();
  }
  if (jobs > 0) options.logger.info({ jobs, tasks, batches }, 'removed finished jobs past their retention');
  await forgetWorkers(options.db, new Date(now().getTime() - FORGET_WORKERS_AFTER_MS));
  return { jobs, tasks, batches };
}
