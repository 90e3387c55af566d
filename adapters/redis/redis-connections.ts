import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisOptions } from 'ioredis';
import { closeConnection } from './close-connection.js';
import { BeeQueueRedis } from './bee-queue-redis.js';
import type { ConnectionTracker } from './bee-queue-redis.js';

/**
 * How long ioredis lets a disconnected socket close by itself before destroying it. It arms that
 * timer even for a socket already gone (a client between reconnection attempts), so closing
 * during an outage waits this long for those timers to run out.
 */
const DISCONNECT_TIMEOUT_MS = 100;

/**
 * Every connection one adapter opens: the clients it creates and the duplicates bee-queue makes of
 * them. `close()` quits them all and waits for their sockets; `drop()` cuts them as a killed
 * process would.
 */
export class RedisConnections implements ConnectionTracker {
  readonly #open = new Set<BeeQueueRedis>();
  readonly #url: string;
  readonly #report: (error: Error) => void;

  constructor(url: string, report: (error: Error) => void) {
    this.#url = url;
    this.#report = report;
  }

  track(client: BeeQueueRedis): void {
    this.#open.add(client);
    client.once('end', () => this.#open.delete(client));
    // One queue per band and consumer adds an error listener to the shared client.
    client.setMaxListeners(0);
  }

  /**
   * A client of the adapter's own (bee-queue's duplicates get their error listeners from
   * bee-queue). ioredis reconnects it for as long as the adapter lives; a command waits through
   * `maxRetriesPerRequest` reconnection attempts before it fails.
   */
  create(name: string, maxRetriesPerRequest: number): BeeQueueRedis {
    const options: RedisOptions = { connectionName: name, maxRetriesPerRequest, disconnectTimeout: DISCONNECT_TIMEOUT_MS };
    const client = new BeeQueueRedis(this.#url, options, this);
    client.on('error', this.#report);
    return client;
  }

  async close(): Promise<void> {
    const betweenRetries = this.#betweenRetries();
    await Promise.all([...this.#open].map((client) => closeConnection(client)));
    if (betweenRetries) await sleep(DISCONNECT_TIMEOUT_MS);
  }

  /**
   * Cuts every connection at once, synchronously (nothing sent after this call goes out), and
   * resolves when their sockets are gone.
   */
  drop(): Promise<void> {
    const betweenRetries = this.#betweenRetries();
    const ended = [...this.#open].map((client) => {
      // Between retries there is no socket, and disconnecting emits no 'end' to wait for.
      if (client.status === 'reconnecting' || client.status === 'end') {
        client.disconnect();
        return undefined;
      }
      const end = new Promise<void>((resolve) => client.once('end', () => resolve()));
      client.disconnect();
      return end;
    });
    return Promise.all(ended).then(async () => {
      if (betweenRetries) await sleep(DISCONNECT_TIMEOUT_MS);
    });
  }

  #betweenRetries(): boolean {
    return [...this.#open].some((client) => client.status === 'reconnecting');
  }
}

/**
 * Resolves once `client` is ready (at once if it is), or rejects when it ends or `signal` aborts
 * first. bee-queue must only ever be handed a ready client: given one still connecting it waits
 * for `ready`, and on the first connection error it disconnects the client for good, shared or not.
 */
export function whenReady(client: BeeQueueRedis, signal?: AbortSignal): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  if (client.status === 'end') return Promise.reject(new Error('redis connection is closed'));
  if (signal?.aborted) return Promise.reject(new Error('no longer waiting for redis'));
  return new Promise((resolve, reject) => {
    const settle = (error?: Error): void => {
      client.off('ready', onReady);
      client.off('end', onEnd);
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onReady = (): void => settle();
    const onEnd = (): void => settle(new Error('redis connection is closed'));
    const onAbort = (): void => settle(new Error('no longer waiting for redis'));
    client.once('ready', onReady);
    client.once('end', onEnd);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
