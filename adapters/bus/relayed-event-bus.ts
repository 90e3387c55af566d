import { randomUUID } from 'node:crypto';
import { toError } from '../../src/errors/to-error.js';
import type { EventBus } from '../event-bus.js';
import { ListenerRegistry } from './listener-registry.js';
import { decodeCancel, decodeEvents, encodeCancel, encodeEvents, eventsMessageFrame, sentBy, type EventItem, type EventRef } from './wire-format.js';
import type { JobEvent } from '../../src/domain/job-event.js';

/** What a relayed bus sends on: each purpose has a channel of its own. */
export type Purpose = 'events' | 'cancel';

/** The channels a bus named `channel` uses: buses with different names never hear each other. */
export function busChannels(channel: string): Record<Purpose, string> {
  return { events: `${channel}:events`, cancel: `${channel}:cancel` };
}

/** An event bus shared by processes through a server (PostgreSQL NOTIFY, Redis pub/sub). */
export interface RelayedEventBus extends EventBus {
  /** Settles once the bus first hears other processes (or is closed): what a test waits for. */
  ready(): Promise<void>;
}

/** What the server-specific part gives the relay. */
export interface RelayTransport {
  /** Sends messages after everything sent before, and reports its own failures. */
  send(purpose: Purpose, messages: readonly string[]): void;
  /** Whether its connection hears messages now. */
  listening(): boolean;
  close(): Promise<void>;
}

/** What the relay gives the server-specific part. */
export interface RelayInbound {
  receive(purpose: Purpose, payload: string): void;
  /** Call once the transport hears messages (again after a reconnect, if it can tell). */
  listening(): void;
  report(error: unknown): void;
}

export interface RelayOptions {
  /** The largest message the server carries; a bigger event travels as a reference. */
  readonly maxMessageBytes?: number;
  /** Reads a referenced event from the store; without it, references cannot be followed. */
  readonly loadEvent?: (ref: EventRef) => Promise<JobEvent | undefined>;
  /** Gets send, receive and listener failures; without it they are dropped. */
  readonly onError?: (error: Error) => void;
  /**
   * Where the events messages of a statement's own NOTIFY reach the buses (PostgreSQL): with it,
   * the bus offers `statementNotify`.
   */
  readonly statementChannel?: string;
}

/**
 * The part every cross-process bus shares. Listeners of the publishing process get its events
 * at once, from here, and the bus drops its own messages when the server echoes them back: they
 * are delivered exactly once, even while the server is away. Messages from one bus arrive in the
 * order sent; an event that comes as a reference holds up those after it until it is read.
 */
export function createRelayedEventBus(options: RelayOptions, connect: (inbound: RelayInbound) => RelayTransport): RelayedEventBus {
  const origin = randomUUID();
  const isEcho = sentBy(origin);
  const maxBytes = options.maxMessageBytes ?? Infinity;
  let closed = false;
  let closing: Promise<void> | undefined;
  let becomeReady!: () => void;
  const readiness = new Promise<void>((resolve) => (becomeReady = resolve));
  // Resolved references and what waits behind them, in arrival order.
  let backlog: Promise<void> | undefined;

  const report = (error: unknown): void => {
    try {
      options.onError?.(toError(error));
    } catch {
      // An error handler that throws has nowhere left to report to.
    }
  };
  const listeners = new ListenerRegistry(report);

  const load = async (ref: EventRef): Promise<JobEvent | undefined> => {
    if (!listeners.hasSubscribers(ref.jobId)) return undefined;
    try {
      if (!options.loadEvent) throw new Error('an event arrived as a reference, but this bus cannot read the store');
      const event = await options.loadEvent(ref);
      if (!event) report(new Error(`event ${ref.seq} of job ${ref.jobId} is not in the store`));
      return event;
    } catch (error) {
      report(error);
      return undefined;
    }
  };

  const deliverInOrder = (items: readonly EventItem[]): void => {
    const mustLoad = items.some((item) => item.kind === 'ref' && listeners.hasSubscribers(item.ref.jobId));
    if (!mustLoad && !backlog) {
      for (const item of items) if (item.kind === 'event') listeners.deliverEvents([item.event]);
      return;
    }
    const run = (backlog ?? Promise.resolve()).then(async () => {
      const events = await Promise.all(items.map((item) => (item.kind === 'event' ? item.event : load(item.ref))));
      if (closed) return;
      for (const event of events) if (event) listeners.deliverEvents([event]);
    }).catch(report);
    backlog = run;
    void run.then(() => {
      if (backlog === run) backlog = undefined;
    });
  };

  const inbound: RelayInbound = {
    receive(purpose, payload) {
      if (closed || isEcho(payload)) return;
      try {
        if (purpose === 'cancel') {
          const message = decodeCancel(payload);
          if (message.origin !== origin) listeners.deliverCancel(message.taskIds);
        } else {
          // Nobody here to deliver to (a worker, an API process with no subscription open): left
          // unparsed. One who subscribes later reads the store after listening, and so sees these.
          if (!listeners.hasAnySubscribers()) return;
          const message = decodeEvents(payload);
          if (message.origin !== origin) deliverInOrder(message.items);
        }
      } catch (error) {
        report(error);
      }
    },
    listening: () => becomeReady(),
    report,
  };
  const transport = connect(inbound);

  const send = (purpose: Purpose, encode: () => string[]): void => {
    try {
      transport.send(purpose, encode());
    } catch (error) {
      report(error);
    }
  };

  return {
    publish(events) {
      if (closed || events.length === 0) return;
      send('events', () => encodeEvents(origin, events, maxBytes));
      listeners.deliverEvents(events);
    },
    statementNotify:
      options.statementChannel === undefined
        ? undefined
        : { channel: options.statementChannel, origin, maxPayloadBytes: maxBytes, ...eventsMessageFrame(origin) },
    publishSent(events) {
      if (!closed) listeners.deliverEvents(events);
    },
    subscribe: (jobId, listener) => listeners.subscribe(jobId, listener),
    requestCancel(taskIds) {
      if (closed || taskIds.length === 0) return;
      send('cancel', () => encodeCancel(origin, taskIds, maxBytes));
      listeners.deliverCancel(taskIds);
    },
    onCancelRequested: (listener) => listeners.onCancelRequested(listener),
    ready: () => readiness,
    get listening() {
      return !closed && transport.listening();
    },
    close() {
      closing ??= (async () => {
        closed = true;
        listeners.clear();
        becomeReady();
        // Reads of referenced events finish before the caller may close the database.
        await backlog;
        await transport.close();
      })();
      return closing;
    },
  };
}
