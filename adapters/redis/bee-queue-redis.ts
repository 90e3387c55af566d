import { createRequire } from 'node:module';
import { Redis as IORedis } from 'ioredis';
import type { Callback, ChainableCommander, RedisOptions } from 'ioredis';
import { toError } from '../../src/errors/to-error.js';

/** Learns of every connection made, duplicates included, so they can all be closed or dropped. */
export interface ConnectionTracker {
  track(client: BeeQueueRedis): void;
}

type NodeCallback = (error: Error | null, reply?: unknown) => void;
type Reply = [error: Error | null, reply: unknown];
type LooseCommand = (this: IORedis, ...args: unknown[]) => Promise<unknown>;

/**
 * An ioredis client that bee-queue 2 accepts and drives as the node-redis 3 client it was written
 * for. bee-queue tells a client from connection options by `constructor.name` (`Redis` or
 * `RedisClient`); an ioredis 5 instance answers `EventEmitter` (ioredis mixes EventEmitter's
 * prototype, `constructor` included, into its own), so bee-queue would read a ready client as
 * options and connect its bundled node-redis to the default localhost:6379. This subclass answers
 * `Redis` (pinned below, so a minifier cannot rename it) and speaks node-redis where bee-queue
 * needs it:
 * - `duplicate()` returns this class, tracked, for bee-queue's blocking and subscriber clients;
 * - `batch()` (node-redis only; `Queue#saveAll`) sends each command at once and calls back when
 *   all have answered: what node-redis' batch does, minus the single write;
 * - `multi().exec()` yields node-redis replies (errors in place) instead of `[error, reply]` pairs;
 * - `evalsha` runs the script by source when the server answers NOSCRIPT: a restarted server has
 *   lost the scripts bee-queue loaded when its queue connected, and bee-queue never reloads them.
 */
export class BeeQueueRedis extends IORedis {
  /** As bee-queue's blocking client: the jobs its BRPOPLPUSH took that the consumer has not received yet. */
  readonly taken = new TakenJobs();
  readonly #tracker: ConnectionTracker;
  #closing = false;

  /** `url` may be undefined when `options` says where to connect (as for duplicates). */
  constructor(url: string | undefined, options: RedisOptions, tracker: ConnectionTracker) {
    // ioredis skips an undefined first argument and lets the URL win over `options` otherwise.
    super(url as string, options);
    this.#tracker = tracker;
    tracker.track(this);
  }

  /** Whether someone (bee-queue, for its own clients) already quit or disconnected it. */
  get closing(): boolean {
    return this.#closing;
  }

  override quit(callback?: Callback<'OK'>): Promise<'OK'> {
    this.#closing = true;
    return super.quit(callback);
  }

  override disconnect(reconnect = false): void {
    if (!reconnect) this.#closing = true;
    super.disconnect(reconnect);
  }

  /**
   * bee-queue's blocking and subscriber connections: their commands wait for Redis however long
   * it takes (bee-queue backs off ever longer after each failed BRPOPLPUSH), and nothing waits
   * on them at close (bee-queue disconnects the blocking one, and the subscriber has nothing queued).
   */
  override duplicate(override: Partial<RedisOptions> = {}): BeeQueueRedis {
    return new BeeQueueRedis(undefined, { ...this.options, maxRetriesPerRequest: null, ...override }, this.#tracker);
  }

  /** node-redis' `batch()`: only the commands `Queue#saveAll` sends through it. */
  batch(): NodeRedisBatch {
    return new NodeRedisBatch(this);
  }
}

// The name bee-queue's `isClient` checks (node_modules/bee-queue/lib/redis.js).
Object.defineProperty(BeeQueueRedis, 'name', { value: 'Redis' });

// ioredis types `multi` and `evalsha` with many overloads that a subclass method cannot match
// one by one; these replacements keep every call shape, so they go on the prototype untyped.
const ioredisMulti = IORedis.prototype.multi as unknown as (this: IORedis, ...args: unknown[]) => unknown;
const ioredisEvalsha = IORedis.prototype.evalsha as unknown as LooseCommand;
const ioredisEval = IORedis.prototype.eval as unknown as LooseCommand;
const ioredisBrpoplpush = IORedis.prototype.brpoplpush as unknown as LooseCommand;

Object.defineProperties(BeeQueueRedis.prototype, {
  brpoplpush: {
    value(this: BeeQueueRedis, ...args: unknown[]): Promise<unknown> {
      const callback = typeof args.at(-1) === 'function' ? (args.pop() as NodeCallback) : undefined;
      const reply = ioredisBrpoplpush.apply(this, args).then((jobId) => {
        if (typeof jobId === 'string') this.taken.add(jobId);
        return jobId;
      });
      return callback === undefined ? reply : settleWith(reply, callback);
    },
  },
  multi: {
    value(this: BeeQueueRedis, ...args: unknown[]): unknown {
      const multi = ioredisMulti.apply(this, args);
      // `multi({ pipeline: false })` returns a promise, not a transaction: leave it alone.
      return isChainable(multi) ? withNodeRedisExec(multi) : multi;
    },
  },
  evalsha: {
    value(this: BeeQueueRedis, ...args: unknown[]): Promise<unknown> {
      const callback = typeof args.at(-1) === 'function' ? (args.pop() as NodeCallback) : undefined;
      const reply = ioredisEvalsha.apply(this, args).catch((error: unknown) => {
        const source = isNoScript(error) ? beeQueueScriptSource(args[0]) : undefined;
        if (source === undefined) throw error;
        return ioredisEval.apply(this, [source, ...args.slice(1)]);
      });
      return callback === undefined ? reply : settleWith(reply, callback);
    },
  },
});

/**
 * Jobs a consumer's blocking client moved from `waiting` to `active`, until they reach the consumer
 * (bee-queue reads a job's data first, a round trip): in neither place a look can see, they are
 * counted here. A job removed meanwhile never arrives; it stops counting after `withinMs`.
 */
export class TakenJobs {
  readonly #since = new Map<string, number>();

  add(jobId: string): void {
    this.#since.set(jobId, Date.now());
  }

  received(jobId: string | undefined): void {
    if (jobId !== undefined) this.#since.delete(jobId);
  }

  /** How many were taken within the last `withinMs` and have not been received. */
  onTheirWay(withinMs: number): number {
    const oldest = Date.now() - withinMs;
    for (const [jobId, since] of this.#since) if (since < oldest) this.#since.delete(jobId);
    return this.#since.size;
  }
}

/** Collects the replies of commands sent one by one; `exec` calls back once all have answered. */
export class NodeRedisBatch {
  readonly #client: BeeQueueRedis;
  readonly #replies: Promise<unknown>[] = [];

  constructor(client: BeeQueueRedis) {
    this.#client = client;
  }

  evalsha(...args: unknown[]): this {
    const callback = typeof args.at(-1) === 'function' ? (args.pop() as NodeCallback) : undefined;
    // The client's evalsha, with its NOSCRIPT fallback; untyped as on the prototype above.
    const reply = (this.#client.evalsha as unknown as LooseCommand).apply(this.#client, args);
    this.#replies.push(callback === undefined ? reply : settleWith(reply, callback));
    return this;
  }

  /** Like node-redis: errors of single commands are replies, not a failed batch. */
  exec(callback?: NodeCallback): Promise<unknown[]> {
    const replies = Promise.all(this.#replies.map((reply) => reply.catch((error: unknown) => error)));
    return callback === undefined ? replies : settleWith(replies, callback);
  }
}

function isChainable(value: unknown): value is ChainableCommander {
  return typeof value === 'object' && value !== null && typeof (value as { exec?: unknown }).exec === 'function';
}

function withNodeRedisExec(multi: ChainableCommander): ChainableCommander {
  const exec = multi.exec.bind(multi) as () => Promise<Reply[] | null>;
  const nodeRedisExec = (callback?: NodeCallback): Promise<unknown[] | null> => {
    const replies = exec().then((pairs) => (pairs === null ? null : pairs.map(([error, reply]) => error ?? reply)));
    return callback === undefined ? replies : settleWith(replies, callback);
  };
  // Same call shapes as ioredis' exec; only the resolved value differs, as documented above.
  multi.exec = nodeRedisExec as unknown as ChainableCommander['exec'];
  return multi;
}

/**
 * Calls `callback` outside the promise chain, as node-redis does, and returns a promise that is
 * already handled: callers passing a callback ignore the returned promise.
 */
function settleWith<T>(promise: Promise<T>, callback: NodeCallback): Promise<T> {
  promise.then(
    (reply) => process.nextTick(callback, null, reply),
    (error: unknown) => process.nextTick(callback, toError(error)),
  );
  return promise;
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

interface BeeQueueLua {
  readonly scripts: Readonly<Record<string, string>>;
  readonly shas: Readonly<Record<string, string>>;
}

// bee-queue's script cache (lib/lua/index.js): names to source and to SHA1, filled when a queue
// first connects, so before any evalsha is sent.
const beeQueueLua = createRequire(import.meta.url)('bee-queue/lib/lua') as BeeQueueLua;

function beeQueueScriptSource(sha: unknown): string | undefined {
  for (const [name, scriptSha] of Object.entries(beeQueueLua.shas)) {
    if (scriptSha === sha) return beeQueueLua.scripts[name];
  }
  return undefined;
}
