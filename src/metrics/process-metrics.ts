import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What a pool of database connections says of itself when scraped. */
export interface PoolUse {
  readonly pool: string;
  readonly total: number;
  readonly idle: number;
  readonly waiting: number;
}

/** A queue's unfinished tasks in one status, as the store counts them (src/store/queue-depths.ts). */
export interface QueueDepth {
  readonly queue: string;
  readonly status: string;
  readonly tasks: number;
  readonly oldestDueAt: Date | null;
}

/** Seconds: from a 1 ms pickup to a 10-minute handler. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600];

/**
 * One process's Prometheus metrics (prom-client), in a registry of its own: node's defaults
 * (`process_*`, `nodejs_*`) and `jobql_*`. The parts a process has report into it (a worker its
 * attempts and slots, the API its subscriptions), and gauges read their parts when scraped, so
 * keeping them costs nothing between scrapes.
 */
export class ProcessMetrics {
  readonly registry = new Registry();
  readonly attemptsStarted: Counter<'queue' | 'type'>;
  readonly attemptsEnded: Counter<'queue' | 'type' | 'outcome'>;
  readonly attemptDuration: Histogram<'queue' | 'type' | 'outcome'>;
  readonly pickupLatency: Histogram<'queue'>;
  readonly rateLimitHolds: Counter<'queue'>;
  readonly attemptsExpired: Counter<'queue'>;
  private readonly sources: {
    slots?: () => { readonly busy: number; readonly total: number };
    subscriptions?: () => { readonly sockets: number; readonly operations: number };
    pools?: () => readonly PoolUse[];
    queues?: () => Promise<readonly QueueDepth[]>;
    bus?: () => boolean;
  } = {};

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.attemptsStarted = new Counter({ name: 'jobql_attempts_started_total', help: 'Attempts this process started', labelNames: ['queue', 'type'], registers });
    this.attemptsEnded = new Counter({
      name: 'jobql_attempts_ended_total',
      help: 'Attempts this process ended, by outcome: succeeded, failed (retried or not, as the task allows), aborted (cancelled, timed out, lease lost), handed_back (shutdown)',
      labelNames: ['queue', 'type', 'outcome'],
      registers,
    });
    this.attemptDuration = new Histogram({
      name: 'jobql_attempt_duration_seconds',
      help: "An attempt's handler time, from its start to its outcome",
      labelNames: ['queue', 'type', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.pickupLatency = new Histogram({
      name: 'jobql_pickup_latency_seconds',
      help: 'From the time a task became due (its run time) to the start of its attempt',
      labelNames: ['queue'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.rateLimitHolds = new Counter({
      name: 'jobql_rate_limit_holds_total',
      help: "Deliveries whose task a rate limit held back to its next window (each hold of a task counts)",
      labelNames: ['queue'],
      registers,
    });
    this.attemptsExpired = new Counter({
      name: 'jobql_attempts_expired_total',
      help: "Attempts this worker's reaper ended because their worker stopped renewing the lease (it died or hangs)",
      labelNames: ['queue'],
      registers,
    });
    const sources = this.sources;
    // Every process reads the same store: take the max across processes, not the sum.
    let depths: Promise<readonly QueueDepth[]> | undefined;
    const readDepths = (): Promise<readonly QueueDepth[]> => {
      // One read serves both gauges of a scrape.
      // A store that does not answer leaves the gauges out of this scrape, not the scrape failed.
      depths ??= (sources.queues?.() ?? Promise.resolve([])).catch(() => []).finally(() => setImmediate(() => (depths = undefined)));
      return depths;
    };
    new Gauge({
      name: 'jobql_queue_tasks',
      help: "Every tenant's unfinished tasks by queue and status (QUEUED, SCHEDULED, RUNNING; PARKED: of the QUEUED, those waiting for room on their concurrency key), read from the store at the scrape; the same in every process",
      labelNames: ['queue', 'status'],
      registers,
      async collect() {
        this.reset();
        for (const depth of await readDepths()) this.set({ queue: depth.queue, status: depth.status }, depth.tasks);
      },
    });
    new Gauge({
      name: 'jobql_queue_oldest_due_seconds',
      help: 'How long the oldest due QUEUED task of each queue has waited, read from the store at the scrape',
      labelNames: ['queue'],
      registers,
      async collect() {
        this.reset();
        const now = Date.now();
        for (const depth of await readDepths()) {
          if (depth.oldestDueAt) this.set({ queue: depth.queue }, Math.max(0, now - depth.oldestDueAt.getTime()) / 1000);
        }
      },
    });
    new Gauge({
      name: 'jobql_worker_slots',
      help: "The worker's slots, busy or free",
      labelNames: ['state'],
      registers,
      collect() {
        const slots = sources.slots?.();
        if (!slots) return;
        this.set({ state: 'busy' }, slots.busy);
        this.set({ state: 'free' }, Math.max(0, slots.total - slots.busy));
      },
    });
    new Gauge({
      name: 'jobql_event_bus_listening',
      help: "1 while this process's event bus hears the other processes (its LISTEN or SUBSCRIBE connection is up), else 0",
      registers,
      collect() {
        const listening = sources.bus?.();
        if (listening !== undefined) this.set(listening ? 1 : 0);
      },
    });
    new Gauge({
      name: 'jobql_websockets_open',
      help: 'graphql-ws connections open on this API process',
      registers,
      collect() {
        const open = sources.subscriptions?.();
        if (open) this.set(open.sockets);
      },
    });
    new Gauge({
      name: 'jobql_subscriptions_open',
      help: 'Operations (subscriptions) running on those connections',
      registers,
      collect() {
        const open = sources.subscriptions?.();
        if (open) this.set(open.operations);
      },
    });
    new Gauge({
      name: 'jobql_db_pool_connections',
      help: "The database pools' connections: total (open), idle, and callers waiting for one",
      labelNames: ['pool', 'state'],
      registers,
      collect() {
        for (const use of sources.pools?.() ?? []) {
          this.set({ pool: use.pool, state: 'total' }, use.total);
          this.set({ pool: use.pool, state: 'idle' }, use.idle);
          this.set({ pool: use.pool, state: 'waiting' }, use.waiting);
        }
      },
    });
  }

  reportSlots(source: () => { readonly busy: number; readonly total: number }): void {
    this.sources.slots = source;
  }

  reportSubscriptions(source: () => { readonly sockets: number; readonly operations: number }): void {
    this.sources.subscriptions = source;
  }

  reportPools(source: () => readonly PoolUse[]): void {
    this.sources.pools = source;
  }

  reportQueues(source: () => Promise<readonly QueueDepth[]>): void {
    this.sources.queues = source;
  }

  reportBus(source: () => boolean): void {
    this.sources.bus = source;
  }

  /** The text a scrape answers, and its content type. */
  async scrape(): Promise<{ readonly body: string; readonly contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
