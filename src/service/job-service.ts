import type { Delivery, QueueAdapter } from '../../adapters/queue-adapter.js';
import type { EventBus } from '../events/event-bus.js';
import { NotFoundError } from '../errors/index.js';
import type { Db } from '../store/database.js';
import { insertJob } from '../store/insert-job.js';
import type { JobEventRecord, JobRecord, TaskRecord } from '../store/records.js';
import * as commands from '../store/task-commands.js';
import * as queries from '../store/queries.js';
import type { TaskRegistry } from '../tasks/task-registry.js';
import { nextAttemptDelivery } from '../worker/deliveries.js';
import type { SubmitJobInput } from './submit-input.js';
import { validateSubmission } from './validate-submission.js';

export interface JobServiceOptions {
  readonly db: Db;
  readonly adapter: QueueAdapter;
  readonly bus: EventBus;
  readonly registry: TaskRegistry;
  readonly maxTasksPerJob: number;
}

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
   */
  async submitJob(input: SubmitJobInput): Promise<JobRecord> {
    const { db, adapter, bus, registry, maxTasksPerJob } = this.options;
    const now = new Date();
    const newJob = await validateSubmission(input, registry, { maxTasksPerJob, now });
    if (newJob.idempotencyKey) {
      const existing = await this.findByIdempotencyKey(newJob.idempotencyKey);
      if (existing) return existing;
    }
    const dueDeliveries = (tasks: readonly TaskRecord[]): Delivery[] =>
      tasks.filter((task) => task.status === 'QUEUED').map(nextAttemptDelivery);
    const transactional = adapter.capabilities.transactionalEnqueue;
    let inserted;
    try {
      inserted = await db.transaction().execute(async (trx) => {
        const job = await insertJob(trx, newJob, now);
        if (transactional) await adapter.enqueue({ deliveries: dueDeliveries(job.tasks), executor: trx });
        return job;
      });
    } catch (error) {
      // Two submissions with one key raced and the other won: answer with its job.
      if (newJob.idempotencyKey && isUniqueViolation(error)) {
        const existing = await this.findByIdempotencyKey(newJob.idempotencyKey);
        if (existing) return existing;
      }
      throw error;
    }
    bus.publish(inserted.events);
    if (!transactional) await adapter.enqueue({ deliveries: dueDeliveries(inserted.tasks) });
    return inserted.job;
  }

  async cancelTask(taskId: string): Promise<TaskRecord> {
    this.assertId('Task', taskId);
    const { value, events } = await commands.cancelTask(this.options.db, taskId);
    this.options.bus.publish(events);
    this.options.bus.requestCancel([taskId]);
    return value;
  }

  async cancelJob(jobId: string): Promise<JobRecord> {
    this.assertId('Job', jobId);
    const { value, events, cancelledTasks } = await commands.cancelJob(this.options.db, jobId);
    this.options.bus.publish(events);
    this.options.bus.requestCancel(cancelledTasks.map((task) => task.id));
    return value;
  }

  async retryTask(taskId: string): Promise<TaskRecord> {
    this.assertId('Task', taskId);
    const { value, events } = await commands.retryTask(this.options.db, taskId);
    this.options.bus.publish(events);
    await this.options.adapter.enqueue({ deliveries: [nextAttemptDelivery(value)] });
    return value;
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

  async eventsAfter(jobId: string, afterSeq: number, limit = 1_000): Promise<JobEventRecord[]> {
    return queries.eventsAfter(this.options.db, { jobId, afterSeq, limit });
  }

  private async findByIdempotencyKey(key: string): Promise<JobRecord | undefined> {
    return this.options.db.selectFrom('jobs').selectAll().where('idempotencyKey', '=', key).executeTakeFirst();
  }

  private assertId(entity: string, id: string): void {
    if (!UUID.test(id)) throw new NotFoundError(entity, id);
  }
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}
