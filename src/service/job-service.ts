import { isWaitingTaskStatus } from '../domain/state-machine.js';
import type { Delivery, QueueAdapter } from '../../adapters/queue-adapter.js';
import { publishWritten, type EventBus } from '../../adapters/event-bus.js';
import { IdempotencyConflictError, NotFoundError, ValidationError } from '../errors/index.js';
import type { Db } from '../store/database.js';
import { inSubmitSpan } from '../telemetry/traces.js';
import { isKeyTaken, jobHoldingKey, keyExpired, recordRequestHash, releaseExpiredKey } from '../store/idempotency-keys.js';
import { insertJob, type InsertedJob, type InsertedTask, type NewJob } from '../store/insert-job.js';
import type { JobRecord, TaskAttemptRecord, TaskRecord } from '../store/records.js';
import { cancelJob, cancelTask } from '../store/cancel-tasks.js';
import { retryTask } from '../store/retry-task.js';
import * as reads from '../store/reads.js';
import type { PageRequest } from '../store/reads.js';
import { watchJob } from './watch-job.js';
import { stoppable } from './stoppable.js';
import type { TaskRegistry } from '../tasks/task-registry.js';
import { deliveriesOf, nextAttemptDelivery } from '../store/deliveries.js';
import { submissionHash } from './submission-hash.js';
import type { SubmitJobInput } from './submit-input.js';
import { validateSubmission } from './validate-submission.js';
import { unstorableIssues } from './storable-values.js';
import type { JobEvent } from '../domain/job-event.js';
import { isTenantName, type Tenancy } from '../domain/tenancy.js';
import { isUuid } from '../domain/uuid.js';

export interface JobServiceOptions {
  readonly db: Db;
  readonly adapter: QueueAdapter;
  readonly bus: EventBus;
  readonly registry: TaskRegistry;
  readonly maxTasksPerJob: number;
  /** How long after its job finished an idempotency key still answers with that job. */
  readonly idempotencyKeyTtlMs: number;
  /** A `watchJob` that heard nothing for this long reads the store, in case the bus lost something. */
  readonly watchResyncMs: number;
}

/** A job that claims an idempotency key, and the finished job it takes the key from, if any. */
interface KeyClaim {
  readonly key: string;
  readonly requestHash: string;
  readonly releaseFrom?: { readonly jobId: string; readonly finishedBefore: Date };
}

/** Each round past the first follows a commit by a rival submission, so two nearly always do. */
const MAX_KEY_ROUNDS = 3;


/**
 * What clients can ask of the system: submit, cancel, retry, read and watch. The GraphQL
 * resolvers call it, and so can a program that embeds the library; it knows nothing of GraphQL.
 *
 * Every method takes the tenancy it runs in first, and hands it to each statement it makes: a
 * job or task of another tenant (or, for a job token's tenancy, of another job) answers exactly
 * as one that does not exist.
 */
export class JobService {
  constructor(private readonly options: JobServiceOptions) {}

  /**
   * Validates, then writes the job, its tasks and their events in one transaction. An adapter
   * with `transactionalEnqueue` writes the deliveries in that same transaction; any other gets
   * them after the commit, and a crash in between leaves QUEUED tasks that the workers'
   * reconciler enqueues again.
   *
   * With an idempotency key already held by a job, that job is the answer when the input is the
   * same, and an IdempotencyConflictError when it is not; nothing is written either way.
   */
  async submitJob(tenancy: Tenancy, input: SubmitJobInput): Promise<JobRecord> {
    const { tenant } = checkedTenancy(tenancy);
    const { registry, maxTasksPerJob } = this.options;
    const attributes = { 'jobql.tenant': tenant, 'jobql.job.name': String(input.name).slice(0, 200), 'jobql.job.tasks': input.tasks?.length ?? 0 };
    return inSubmitSpan(attributes, async (traceParent) => {
      const now = new Date();
      const newJob = { ...(await validateSubmission(input, registry, { maxTasksPerJob, now })), traceParent };
      if (newJob.idempotencyKey === null) return this.insert(tenant, newJob, now);
      return this.submitWithKey(tenant, newJob, newJob.idempotencyKey, submissionHash(newJob, input), now);
    });
  }

  /** Checks a submission as `submitJob` would, writing nothing: a ValidationError when it would be refused. */
  async checkSubmission(input: SubmitJobInput): Promise<void> {
    const { registry, maxTasksPerJob } = this.options;
    await validateSubmission(input, registry, { maxTasksPerJob, now: new Date() });
  }

  /**
   * The unique index on the key decides races: a submission whose insert loses goes round again
   * and answers as the winner's job dictates. A job that finished more than the TTL ago gives its
   * key up in the transaction that inserts the new job, so no cleanup needs to have run.
   */
  private async submitWithKey(tenant: string, newJob: NewJob, key: string, requestHash: string, now: Date): Promise<JobRecord> {
    const finishedBefore = new Date(now.getTime() - this.options.idempotencyKeyTtlMs);
    for (let round = 1; ; round += 1) {
      const holder = await jobHoldingKey(this.options.db, tenant, key);
      if (holder && !keyExpired(holder, finishedBefore)) return answerForKey(holder, key, requestHash);
      const claim: KeyClaim = { key, requestHash, ...(holder ? { releaseFrom: { jobId: holder.id, finishedBefore } } : {}) };
      try {
        return await this.insert(tenant, newJob, now, claim);
      } catch (error) {
        if (round >= MAX_KEY_ROUNDS || !isKeyTaken(error)) throw error;
      }
    }
  }

  /**
   * Without an idempotency key the submission is one statement: the job, its tasks, their events
   * and, on an adapter that offers `enqueueCte`, their deliveries. A key's release and its
   * request hash need a transaction around the insert.
   */
  private async insert(tenant: string, newJob: NewJob, now: Date, claim?: KeyClaim): Promise<JobRecord> {
    const { db, adapter } = this.options;
    const dueDeliveries = (tasks: readonly InsertedTask[]): Delivery[] =>
      tasks.filter((task) => isWaitingTaskStatus(task.status)).map(nextAttemptDelivery);
    const transactional = adapter.capabilities.transactionalEnqueue;
    const enqueueCte = adapter.enqueueCte?.bind(adapter);
    let inserted: InsertedJob;
    if (!claim && (enqueueCte || !transactional)) {
      inserted = await insertJob(db, tenant, newJob, now, enqueueCte && ((tasks) => {
        const deliveries = dueDeliveries(tasks);
        return deliveries.length > 0 ? enqueueCte(deliveries) : undefined;
      }));
    } else {
      inserted = await db.transaction().execute(async (trx) => {
        if (claim?.releaseFrom) await releaseExpiredKey(trx, claim.releaseFrom.jobId, claim.key, claim.releaseFrom.finishedBefore);
        const written = await insertJob(trx, tenant, newJob, now);
        const job = claim ? await recordRequestHash(trx, written.job.id, claim.requestHash) : written.job;
        if (transactional) await adapter.enqueue({ deliveries: dueDeliveries(written.tasks), executor: trx });
        return { ...written, job };
      });
    }
    // No bus.publish: see insertJob for why a new job's events are only stored.
    if (!transactional) await adapter.enqueue({ deliveries: dueDeliveries(inserted.tasks) });
    return inserted.job;
  }

  async cancelTask(tenancy: Tenancy, taskId: string): Promise<TaskRecord> {
    this.assertId('Task', taskId);
    const { bus, db } = this.options;
    const cancelled = await cancelTask(db, checkedTenancy(tenancy), taskId, bus.statementNotify);
    publishWritten(bus, cancelled);
    bus.requestCancel([taskId]);
    return cancelled.task;
  }

  async cancelJob(tenancy: Tenancy, jobId: string): Promise<JobRecord> {
    this.assertId('Job', jobId);
    const { bus, db } = this.options;
    const cancelled = await cancelJob(db, checkedTenancy(tenancy), jobId, bus.statementNotify);
    publishWritten(bus, cancelled);
    bus.requestCancel(cancelled.cancelledTaskIds);
    return cancelled.job;
  }

  async retryTask(tenancy: Tenancy, taskId: string): Promise<TaskRecord> {
    this.assertId('Task', taskId);
    const { bus, db, adapter } = this.options;
    const retried = await retryTask(db, checkedTenancy(tenancy), taskId, bus.statementNotify);
    publishWritten(bus, retried);
    // A BLOCKED task gets its delivery when its last dependency succeeds. The delivery is written
    // through the service's own pool, as every statement a caller's request makes.
    const deliveries = deliveriesOf([retried.task]);
    if (deliveries.length > 0) await adapter.enqueue({ deliveries, executor: db });
    return retried.task;
  }

  /**
   * The job's events after the `afterSeq`-th (all of them when absent): the stored ones, then the
   * live ones, until the job is final (see watch-job.ts). Throws NotFoundError for an unknown job.
   */
  watchJob(tenancy: Tenancy, jobId: string, options: { readonly afterSeq?: number } = {}): AsyncGenerator<JobEvent> {
    const { db, bus, watchResyncMs } = this.options;
    const checked = (): Tenancy => {
      this.assertId('Job', jobId);
      return checkedTenancy(tenancy);
    };
    // Its return() ends it at once, also while it waits for an event: a client that went away leaves nothing behind.
    return stoppable(async function* (stopped) {
      yield* watchJob({ db, bus, resyncMs: watchResyncMs }, checked(), jobId, options.afterSeq ?? 0, stopped);
    });
  }

  /*
   * The readers. Each takes a batch of keys and answers in one statement, so that a request's
   * loaders make one statement a batch; an id that is not a UUID simply matches nothing.
   */

  async jobsByIds(tenancy: Tenancy, ids: readonly string[]): Promise<JobRecord[]> {
    return reads.jobsByIds(this.options.db, checkedTenancy(tenancy), ids.filter(isUuid));
  }

  async tasksByIds(tenancy: Tenancy, ids: readonly string[]): Promise<TaskRecord[]> {
    return reads.tasksByIds(this.options.db, checkedTenancy(tenancy), ids.filter(isUuid));
  }

  /** Every attempt of these tasks, oldest first within each task. */
  async attemptsByTaskIds(tenancy: Tenancy, taskIds: readonly string[]): Promise<TaskAttemptRecord[]> {
    return reads.attemptsByTaskIds(this.options.db, checkedTenancy(tenancy), taskIds.filter(isUuid));
  }

  /** The tasks each of these tasks depends on, with the id of the task that depends on them, in list order. */
  async dependenciesByTaskIds(tenancy: Tenancy, taskIds: readonly string[]): Promise<(TaskRecord & { readonly dependantId: string })[]> {
    return reads.dependenciesByTaskIds(this.options.db, checkedTenancy(tenancy), taskIds.filter(isUuid));
  }

  /** Pages of several jobs' tasks, in submission order. */
  async taskPages(tenancy: Tenancy, requests: readonly PageRequest[]): Promise<TaskRecord[]> {
    return reads.taskPages(this.options.db, checkedTenancy(tenancy), requests.filter((request) => isUuid(request.jobId)));
  }

  /** Pages of several jobs' events, oldest first. */
  async eventPages(tenancy: Tenancy, requests: readonly PageRequest[]): Promise<JobEvent[]> {
    return reads.eventPages(this.options.db, checkedTenancy(tenancy), requests.filter((request) => isUuid(request.jobId)));
  }

  async listJobs(tenancy: Tenancy, params: Parameters<typeof reads.listJobs>[2]): Promise<JobRecord[]> {
    // A filter's text goes into a statement as it is: one PostgreSQL cannot take is refused here.
    const issues = unstorableIssues({ name: params.filter.name, queue: params.filter.queue });
    if (issues.length > 0) throw new ValidationError(issues);
    return reads.listJobs(this.options.db, checkedTenancy(tenancy), params);
  }

  private assertId(entity: string, id: string): void {
    if (!isUuid(id)) throw new NotFoundError(entity, id);
  }
}

/** The tenancy as given, once its tenant is known to be a tenant's name (and its job, if any, a UUID). */
function checkedTenancy(tenancy: Tenancy): Tenancy {
  if (!isTenantName(tenancy.tenant)) throw ValidationError.field('tenant', `"${tenancy.tenant.slice(0, 80)}" is not a tenant name`);
  if (tenancy.jobId !== undefined && !isUuid(tenancy.jobId)) throw ValidationError.field('jobId', 'is not a job id');
  return tenancy;
}

/** A job stored before request hashes were kept has none: its key answers as it did then, with the job. */
function answerForKey(holder: JobRecord, key: string, requestHash: string): JobRecord {
  if (holder.idempotencyRequestHash === null || holder.idempotencyRequestHash === requestHash) return holder;
  throw new IdempotencyConflictError(key, holder.id);
}
