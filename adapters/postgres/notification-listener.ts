import pg from 'pg';
import { toError } from '../../src/errors/to-error.js';

/** PostgreSQL cuts identifiers, channel names included, at 63 bytes; pg_notify refuses longer ones. */
export const MAX_CHANNEL_BYTES = 63;

export interface NotificationListenerOptions {
  readonly connectionString: string;
  /** Channel names; each is LISTENed to as a quoted identifier, so any text is safe. */
  readonly channels: readonly string[];
  readonly onNotification: (channel: string, payload: string) => void;
  /**
   * Called each time the listener is (re)connected and listening. Notifications sent while it
   * was away are lost, so a caller that relies on them for speed polls once here.
   */
  readonly onListening?: () => void;
  readonly onError?: (error: Error) => void;
  /** First reconnect delay; doubles up to `maxRetryMs`. */
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
}

/**
 * One dedicated connection that LISTENs on some channels and reconnects by itself, forever, when
 * the connection drops (server restart, pg_terminate_backend, network). NOTIFY only makes things
 * faster: whoever uses this must still poll, so a listener that is down delays but loses nothing.
 * It connects when made.
 */
export class NotificationListener {
  readonly #retryMs: number;
  readonly #maxRetryMs: number;
  #client: pg.Client | undefined;
  #listening = false;
  #closed = false;
  #delay: number;
  #retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: NotificationListenerOptions) {
    this.#retryMs = options.retryMs ?? 100;
    this.#maxRetryMs = options.maxRetryMs ?? 5_000;
    this.#delay = this.#retryMs;
    void this.#connect();
  }

  /** True while connected and listening. */
  get listening(): boolean {
    return this.#listening;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listening = false;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    const current = this.#client;
    this.#client = undefined;
    await current?.end().catch(() => {});
  }

  #report(error: unknown): void {
    if (!this.#closed) this.options.onError?.(toError(error));
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#retryTimer !== undefined) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.#connect();
    }, this.#delay);
    this.#delay = Math.min(this.#delay * 2, this.#maxRetryMs);
  }

  async #connect(): Promise<void> {
    const current = new pg.Client({ connectionString: this.options.connectionString, keepAlive: true });
    this.#client = current;
    const lost = (error?: unknown): void => {
      if (this.#client !== current) return; // already replaced
      this.#listening = false;
      this.#client = undefined;
      if (error !== undefined) this.#report(error);
      current.removeAllListeners('notification');
      void current.end().catch(() => {});
      this.#scheduleReconnect();
    };
    current.on('error', lost);
    current.on('end', () => lost());
    current.on('notification', (message) => this.options.onNotification(message.channel, message.payload ?? ''));
    try {
      await current.connect();
      for (const channel of this.options.channels) await current.query(`LISTEN ${quoteIdentifier(channel)}`);
      if (this.#closed || this.#client !== current) return;
      this.#listening = true;
      this.#delay = this.#retryMs;
      this.options.onListening?.();
    } catch (error) {
      lost(error);
    }
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
