import pg from 'pg';

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

export interface NotificationListener {
  /** True while connected and listening. */
  readonly listening: boolean;
  close(): Promise<void>;
}

/**
 * One dedicated connection that LISTENs on some channels and reconnects by itself, forever, when
 * the connection drops (server restart, pg_terminate_backend, network). NOTIFY only makes things
 * faster: whoever uses this must still poll, so a listener that is down delays but loses nothing.
 */
export function listenForNotifications(options: NotificationListenerOptions): NotificationListener {
  const retryMs = options.retryMs ?? 100;
  const maxRetryMs = options.maxRetryMs ?? 5_000;
  let client: pg.Client | undefined;
  let listening = false;
  let closed = false;
  let delay = retryMs;
  let retryTimer: NodeJS.Timeout | undefined;

  const report = (error: unknown): void => {
    if (!closed) options.onError?.(error instanceof Error ? error : new Error(String(error)));
  };

  const scheduleReconnect = (): void => {
    if (closed || retryTimer !== undefined) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void connect();
    }, delay);
    delay = Math.min(delay * 2, maxRetryMs);
  };

  const connect = async (): Promise<void> => {
    const current = new pg.Client({ connectionString: options.connectionString, keepAlive: true });
    client = current;
    const lost = (error?: unknown): void => {
      if (client !== current) return; // already replaced
      listening = false;
      client = undefined;
      if (error !== undefined) report(error);
      current.removeAllListeners('notification');
      void current.end().catch(() => {});
      scheduleReconnect();
    };
    current.on('error', lost);
    current.on('end', () => lost());
    current.on('notification', (message) => options.onNotification(message.channel, message.payload ?? ''));
    try {
      await current.connect();
      for (const channel of options.channels) await current.query(`LISTEN ${quoteIdentifier(channel)}`);
      if (closed || client !== current) return;
      listening = true;
      delay = retryMs;
      options.onListening?.();
    } catch (error) {
      lost(error);
    }
  };

  void connect();

  return {
    get listening() {
      return listening;
    },
    async close() {
      closed = true;
      listening = false;
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      const current = client;
      client = undefined;
      await current?.end().catch(() => {});
    },
  };
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
