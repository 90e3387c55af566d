import { isWaitingTaskStatus } from '../domain/state-machine.js';
import type { Delivery, QueueAdapter } from '../../adapters/queue-adapter.js';
import { publishWritten, type EventBus } from '../../adapters/event-bus.js';
import { IdempotencyConflictError, NotFoundError } from '../errors/index.js';
import type { Db } from '../store/database.js';
import { isKeyTaken, jobHoldingKey, keyExpired, recordRequestHash, releaseExpiredKey } from '../store/idempotency-keys.js';
import { insertJob, type InsertedJob, type InsertedTask, type NewJob } from '../store/insert-job.js';
import type { JobRecord, TaskRecord } from '../store/records.js';
import { cancelJob, cancelTask } from '../store/cancel-tasks.js';
import { retryTask } from '../store/retry-task.js';
import * as queries from '../store/reads.js';
import type { TaskRegistry } from '../tasks/task-registry.js';
import { deliveriesOf, nextAttemptDelivery } from '../store/deliveries.js';
import { submissionHash } from './submission-hash.js';
import type { SubmitJobInput } from './submit-input.js';
import { validateSubmission } from './validate-submission.js';
import type { JobEvent } from '../domain/job-event.js';

export interface JobServiceOptions {
  readonly db: Db;
  readonly adapter: QueueAdapter;
  readonly bus: EventBus;
  readonly registry: TaskRegistry;
  readonly maxTasksPerJob: number;
  /** How long after its job finished an idempotency key still answers with that job. */
  readonly idempotencyKeyTtlMs: number;
}

/** A job that claims an idempotency key, and the finished job it takes the key from, if any. */
interface KeyClaim {
  readonly key: string;
  readonly requestHash: string;
  readonly releaseFrom?: { readonly jobId: string; readonly finishedBefore: Date };
}

/** Each round past the first follows a commit by a rival submission, so two nearly always do. */
const MAX_KEY_ROUNDS = 3;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * What clients can ask of the system: submit, cancel, retry and read. The GraphQL resolvers call
 * it, and so can a program that embeds the library; it knows nothing of GraphQL.
 */
export class JobService {
  constructor(private readonly options: JobServiceOptions) {}

  get db(): Db {
    return this.options.db;
  }

  /**
   * Validates, then writes the job, its tasks and their events in one transaction. An adapter
   * with `transactionalEnqueue` writes the deliveries in that same transaction; any other gets
   * them after the commit, and a crash in between leaves QUEUED tasks that the workers'
   * reconciler enqueues again.
   *
   * With an idempotency key already held by a job, that job is the answer when the input is the
   * same, and an IdempotencyConflictError when it is not; nothing is written either way.
   */
  async submitJob(input: SubmitJobInput): Promise<JobRecord> {
    const { registry, maxTasksPerJob } = this.options;
    const now = new Date();
    const newJob = await validateSubmission(input, registry, { maxTasksPerJob, now });
    if (newJob.idempotencyKey === null) return this.insert(newJob, now);
    return this.submitWithKey(newJob, newJob.idempotencyKey, submissionHash(newJob, input), now);
  }

  /**
   * The unique index on the key decides races: a submission whose insert loses goes round again
   * and answers as the winner's job dictates. A job that finished more than the TTL ago gives its
   * key up in the transaction that inserts the new job, so no cleanup needs to have run.
   */
  private async submitWithKey(newJob: NewJob, key: string, requestHash: string, now: Date): Promise<JobRecord> {
    const finishedBefore = new Date(now.getTime() - this.options.idempotencyKeyTtlMs);
    for (let round = 1; ; round += 1) {
      const holder = await jobHoldingKey(this.options.db, key);
      if (holder && !keyExpired(holder, finishedBefore)) return answerForKey(holder, key, requestHash);
      const claim: KeyClaim = { key, requestHash, ...(holder ? { releaseFrom: { jobId: holder.id, finishedBefore } } : {}) };
      try {
        return await this.insert(newJob, now, claim);
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
  private async insert(newJob: NewJob, now: Date, claim?: KeyClaim): Promise<JobRecord> {
    const { db, adapter } = this.options;
    const dueDeliveries = (tasks: readonly InsertedTask[]): Delivery[] =>
      tasks.filter((task) => isWaitingTaskStatus(task.status)).map(nextAttemptDelivery);
    const transactional = adapter.capabilities.transactionalEnqueue;
    const enqueueCte = adapter.enqueueCte?.bind(adapter);
    let inserted: InsertedJob;
    if (!claim && (enqueueCte || !transactional)) {
      inserted = await insertJob(db, newJob, now, enqueueCte && ((tasks) => {
        const deliveries = dueDeliveries(tasks);
        return deliveries.length > 0 ? enqueueCte(deliveries) : undefined;
      }));
    } else {
      inserted = await db.transaction().execute(async (trx) => {
        if (claim?.releaseFrom) await releaseExpiredKey(trx, claim.releaseFrom.jobId, claim.key, claim.releaseFrom.finishedBefore);
        const written = await insertJob(trx, newJob, now);
        const job = claim ? await recordRequestHash(trx, written.job.id, claim.requestHash) : written.job;
        if (transactional) await adapter.enqueue({ deliveries: dueDeliveries(written.tasks), executor: trx });
        return { ...written, job };
      });
    }
    // No bus.publish: see insertJob for why a new job's events are only stored.
    if (!transactional) await adapter.enqueue({ deliveries: dueDeliveries(inserted.tasks) });
    return inserted.job;
  }

  async cancelTask(taskId: string): Promise<TaskRecord> {
    this.assertId('Task', taskId);
    const { bus, db } = this.options;
    const cancelled = await cancelTask(db, taskId, bus.statementNotify);
    publishWritten(bus, cancelled);
    bus.requestCancel([taskId]);
    return cancelled.task;
  }

  async cancelJob(jobId: string): Promise<JobRecord> {
    this.assertId('Job', jobId);
    const { bus, db } = this.options;
    const cancelled = await cancelJob(db, jobId, bus.statementNotify);
    publishWritten(bus, cancelled);
    bus.requestCancel(cancelled.cancelledTaskIds);
    return cancelled.job;
  }

  async retryTask(taskId: string): Promise<TaskRecord> {
    this.assertId('Task', taskId);
    const { bus, db, adapter } = this.options;
    const retried = await retryTask(db, taskId, bus.statementNotify);
    publishWritten(bus, retried);
    // A BLOCKED task gets its delivery when its last dependency succeeds.
    const deliveries = deliveriesOf([retried.task]);
    if (deliveries.length > 0) await adapter.enqueue({ deliveries });
    return retried.task;
  }

  /** Jobs by id; an id that is not a UUID simply matches nothing. */
  async jobsByIds(ids: readonly string[]): Promise<JobRecord[]> {
    return queries.jobsByIds(this.options.db, ids.filter((id) => UUID.test(id)));
  }

  async tasksByIds(ids: readonly string[]): Promise<TaskRecord[]> {
    return queries.tasksByIds(this.options.db, ids.filter((id) => UUID.test(id)));
  }

  async listJobs(params: Parameters<typeof queries.listJobs>[1]): Promise<JobRecord[]> {
    return queries.listJobs(this.options.db, params);
  }

  async eventsAfter(jobId: string, afterSeq: number, limit = 1_000): Promise<JobEvent[]> {
    return queries.eventsAfter(this.options.db, { jobId, afterSeq, limit });
  }

  private assertId(entity: string, id: string): void {
    if (!UUID.test(id)) throw new NotFoundError(entity, id);
  }
}

/** A job stored before request hashes were kept has none: its key answers as it did then, with the job. */
function answerForKey(holder: JobRecord, key: string, requestHash: string): JobRecord {
  if (holder.idempotencyRequestHash === null || holder.idempotencyRequestHash === requestHash) return holder;
  throw new IdempotencyConflictError(key, holder.id);
}
