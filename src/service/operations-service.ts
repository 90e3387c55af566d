import { sql } from 'kysely';
import { NotFoundError, ValidationError } from '../errors/index.js';
import type { Db } from '../store/database.js';
import { pauseQueue, queueControls, resumeQueue, type QueueControl } from '../store/queue-controls.js';
import { listWorkers, type WorkerRecord } from '../store/worker-registry.js';
import { queueDepths, type QueueDepth } from '../store/queue-depths.js';
import { countsSince, type AttemptCounts } from '../domain/throughput-tally.js';
import { listRateLimits, removeRateLimit, setRateLimit, type RateLimit } from '../store/rate-limits.js';
import { checkedRateLimitInput, checkedRateLimitKey, type RateLimitInput, type RateLimitKey } from './rate-limit-input.js';
import type { Tenancy } from '../domain/tenancy.js';
import { queueNameSchema } from './queue-name.js';

/** A queue as an operator sees it. */
export interface QueueView extends QueueControl {
  readonly name: string;
  /** The oldest QUEUED task of the caller's tenant on it: since when it has been due. */
  readonly oldestQueuedAt: Date | null;
  /** ALIVE workers that serve it, and their slots for it. */
  readonly workersAlive: number;
  readonly slotsAlive: number;
  /** Its own rate limit (not those of the task types on it). */
  readonly rateLimit: RateLimit | null;
  /** The caller's tenant's unfinished tasks on it, exact. */
  readonly queued: number;
  readonly scheduled: number;
  readonly running: number;
  /** Of the queued ones, those parked until their concurrency key has room. */
  readonly parked: number;
  /** Attempts of every tenant started, finished and failed in the last minute and the last hour, from the workers' tallies. */
  readonly lastMinute: AttemptCounts;
  readonly lastHour: AttemptCounts;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/** How far back `workers` shows those that stopped or were lost. */
const WORKERS_SHOWN_SINCE_MS = 24 * 60 * 60 * 1000;
const MAX_WORKERS_SHOWN = 500;

/**
 * What operators ask of the deployment: its workers, its queues, and the controls on them. The
 * GraphQL resolvers call it; it calls the store.
 */
export class OperationsService {
  constructor(private readonly db: Db) {}

  async workers(): Promise<WorkerRecord[]> {
    return listWorkers(this.db, { since: new Date(Date.now() - WORKERS_SHOWN_SINCE_MS), limit: MAX_WORKERS_SHOWN });
  }

  /**
   * Every queue something is known of: one the tenant has tasks waiting on, one a worker served
   * in the last day, or one with controls. Read from indexes and small tables, never by counting
   * the tasks table.
   */
  async queues(tenancy: Tenancy): Promise<QueueView[]> {
    const [workers, controls, waiting, limits, depths] = await Promise.all([
      this.workers(),
      queueControls(this.db),
      this.waitingQueues(tenancy),
      listRateLimits(this.db),
      queueDepths(this.db, { tenant: tenancy.tenant }),
    ]);
    const tallies = workers.map((worker) => worker.throughput);
    const depthOf = (name: string, status: QueueDepth['status']): number =>
      depths.find((depth) => depth.queue === name && depth.status === status)?.tasks ?? 0;
    const queueLimits = new Map(limits.filter((limit) => limit.scope === 'QUEUE').map((limit) => [limit.name, limit]));
    const names = new Set<string>([
      ...waiting.keys(),
      ...controls.map((control) => control.queue),
      ...workers.flatMap((w) => w.queues.map((q) => q.name)),
      ...queueLimits.keys(),
      ...depths.map((depth) => depth.queue),
    ]);
    const controlOf = new Map(controls.map((control) => [control.queue, control]));
    return [...names].sort().map((name) => ({
      ...this.view(name, controlOf.get(name), waiting.get(name) ?? null, workers, queueLimits.get(name) ?? null),
      queued: depthOf(name, 'QUEUED'),
      scheduled: depthOf(name, 'SCHEDULED'),
      running: depthOf(name, 'RUNNING'),
      parked: depthOf(name, 'PARKED'),
      lastMinute: countsSince(tallies, name, MINUTE_MS),
      lastHour: countsSince(tallies, name, HOUR_MS),
    }));
  }

  async queue(tenancy: Tenancy, name: string): Promise<QueueView | null> {
    return (await this.queues(tenancy)).find((queue) => queue.name === name) ?? null;
  }

  async pauseQueue(tenancy: Tenancy, name: string, by: string): Promise<QueueView> {
    await pauseQueue(this.db, { queue: checkedQueueName(name), by });
    return (await this.queue(tenancy, name))!;
  }

  async resumeQueue(tenancy: Tenancy, name: string): Promise<QueueView> {
    await resumeQueue(this.db, checkedQueueName(name));
    return (await this.queue(tenancy, name))!;
  }

  /** Every rate limit, of queues and of task types. */
  rateLimits(): Promise<RateLimit[]> {
    return listRateLimits(this.db);
  }

  /** Sets a limit; the claims that start after its commit hold to it. */
  setRateLimit(input: RateLimitInput, by: string): Promise<RateLimit> {
    return setRateLimit(this.db, { ...checkedRateLimitInput(input), setBy: by });
  }

  /** Removes a limit; a NotFoundError when there is none. */
  async removeRateLimit(key: RateLimitKey): Promise<RateLimit> {
    const checked = checkedRateLimitKey(key);
    const removed = await removeRateLimit(this.db, checked);
    if (!removed) throw new NotFoundError('RateLimit', `${checked.scope}:${checked.name}`);
    return removed;
  }

  private view(
    name: string,
    control: QueueControl | undefined,
    oldestQueuedAt: Date | null,
    workers: readonly WorkerRecord[],
    rateLimit: RateLimit | null,
  ): Omit<QueueView, 'queued' | 'scheduled' | 'running' | 'parked' | 'lastMinute' | 'lastHour'> {
    const serving = workers.filter((worker) => worker.state === 'ALIVE').flatMap((worker) => worker.queues.filter((queue) => queue.name === name));
    return {
      name,
      queue: name,
      pausedAt: control?.pausedAt ?? null,
      pausedBy: control?.pausedBy ?? null,
      oldestQueuedAt,
      workersAlive: serving.length,
      slotsAlive: serving.reduce((sum, queue) => sum + queue.slots, 0),
      rateLimit,
    };
  }

  /**
   * The queues with waiting tasks, each with its tenant's oldest QUEUED run time (null when the
   * tenant's only waiting tasks there are SCHEDULED or another tenant's): a skip scan over the
   * `tasks_waiting` index, one probe per queue.
   */
  private async waitingQueues(tenancy: Tenancy): Promise<Map<string, Date | null>> {
    const { rows } = await sql<{ queue: string; oldest: Date | null }>`
      with recursive names(queue) as (
        select min(queue) from tasks where status in ('QUEUED', 'SCHEDULED')
        union all
        select (select min(queue) from tasks where status in ('QUEUED', 'SCHEDULED') and queue > names.queue)
        from names where names.queue is not null
      )
      select n.queue, (
        select min(t.run_at) from tasks t
        where t.queue = n.queue and t.status = 'QUEUED' and t.tenant_id = ${tenancy.tenant}
      ) as oldest
      from names n where n.queue is not null`.execute(this.db);
    return new Map(rows.map((row) => [row.queue, row.oldest]));
  }
}

function checkedQueueName(name: string): string {
  const parsed = queueNameSchema.safeParse(name);
  if (!parsed.success) throw ValidationError.field('name', parsed.error.issues[0]?.message ?? 'not a queue name');
  return parsed.data;
}
