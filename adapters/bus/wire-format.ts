import { EVENT_TYPES, type EventType, type JobEvent, type JobEventData } from '../../src/domain/job-event.js';

/**
 * What buses of different processes send each other. An events message is
 * `{"origin":…,"events":[event | {"ref":{jobId,seq}}, …]}`, a cancel message
 * `{"origin":…,"taskIds":[…]}`; `origin` names the sending bus, so it can drop its own echoes.
 */

/** Where a stored event is: sent instead of an event too big for the message size limit. */
export interface EventRef {
  readonly jobId: string;
  readonly seq: number;
}

export type EventItem = { readonly kind: 'event'; readonly event: JobEvent } | { readonly kind: 'ref'; readonly ref: EventRef };

export interface EventsMessage {
  readonly origin: string;
  readonly items: readonly EventItem[];
}

export interface CancelMessage {
  readonly origin: string;
  readonly taskIds: readonly string[];
}

interface Part {
  readonly json: string;
  /** A smaller stand-in, for a part too big for one message. */
  readonly fallback?: () => string;
}

/** As few messages as hold the events in order, each at most `maxBytes` of UTF-8. */
export function encodeEvents(origin: string, events: readonly JobEvent[], maxBytes = Infinity): string[] {
  return pack(
    origin,
    'events',
    events.map((event) => ({
      json: JSON.stringify(event),
      fallback: () => JSON.stringify({ ref: { jobId: event.jobId, seq: event.seq } satisfies EventRef }),
    })),
    maxBytes,
  );
}

export function encodeCancel(origin: string, taskIds: readonly string[], maxBytes = Infinity): string[] {
  return pack(origin, 'taskIds', taskIds.map((taskId) => ({ json: JSON.stringify(taskId) })), maxBytes);
}

/**
 * Tells whether a payload is a message `origin` sent, read off its first bytes: a bus hears its
 * own messages echoed back by the server, and drops them unparsed.
 */
export function sentBy(origin: string): (payload: string) => boolean {
  const head = originHead(origin);
  return (payload) => payload.startsWith(head);
}

function originHead(origin: string): string {
  return `{"origin":${JSON.stringify(origin)},`;
}

/** An events message from `origin` is `head`, its events joined by commas, then `tail`. */
export function eventsMessageFrame(origin: string): { readonly head: string; readonly tail: string } {
  return frame(origin, 'events');
}

function frame(origin: string, key: string): { readonly head: string; readonly tail: string } {
  return { head: `${originHead(origin)}"${key}":[`, tail: ']}' };
}

function pack(origin: string, key: string, parts: readonly Part[], maxBytes: number): string[] {
  const { head, tail } = frame(origin, key);
  const frameBytes = Buffer.byteLength(head) + Buffer.byteLength(tail);
  const messages: string[] = [];
  let current: string[] = [];
  let size = frameBytes;
  for (const part of parts) {
    let json = part.json;
    let bytes = Buffer.byteLength(json);
    if (frameBytes + bytes > maxBytes && part.fallback) {
      json = part.fallback();
      bytes = Buffer.byteLength(json);
    }
    if (frameBytes + bytes > maxBytes) throw new Error(`a message part of ${bytes} bytes does not fit in ${maxBytes} bytes`);
    if (current.length > 0 && size + 1 + bytes > maxBytes) {
      messages.push(head + current.join(',') + tail);
      current = [];
      size = frameBytes;
    }
    size += current.length > 0 ? 1 + bytes : bytes;
    current.push(json);
  }
  if (current.length > 0) messages.push(head + current.join(',') + tail);
  return messages;
}

export function decodeEvents(payload: string): EventsMessage {
  const message = object(parse(payload), 'message');
  const items = array(message['events'], 'events').map((item): EventItem => {
    const fields = object(item, 'event');
    if (!('ref' in fields)) return { kind: 'event', event: toEvent(fields) };
    const ref = object(fields['ref'], 'event reference');
    return { kind: 'ref', ref: { jobId: text(ref['jobId'], 'job id'), seq: integer(ref['seq'], 'seq') } };
  });
  return { origin: text(message['origin'], 'origin'), items };
}

export function decodeCancel(payload: string): CancelMessage {
  const message = object(parse(payload), 'message');
  const taskIds = array(message['taskIds'], 'task ids').map((taskId) => text(taskId, 'task id'));
  return { origin: text(message['origin'], 'origin'), taskIds };
}

/** Every field is named here, so a field added to the record does not compile until it travels. */
function toEvent(fields: Record<string, unknown>): JobEvent {
  const at = new Date(text(fields['at'], 'event time'));
  if (Number.isNaN(at.getTime())) malformed('event time');
  const taskId = fields['taskId'];
  if (taskId !== null && typeof taskId !== 'string') malformed('task id');
  return {
    id: text(fields['id'], 'event id'),
    jobId: text(fields['jobId'], 'job id'),
    seq: integer(fields['seq'], 'seq'),
    taskId,
    type: eventType(fields['type']),
    at,
    // The store's own JSON, read back as the store reads it: not checked field by field.
    data: object(fields['data'], 'event data') as JobEventData,
  };
}

function parse(payload: string): unknown {
  try {
    return JSON.parse(payload);
  } catch {
    return malformed('not JSON');
  }
}

function malformed(what: string): never {
  throw new Error(`malformed event-bus message: ${what}`);
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) malformed(what);
  return value as Record<string, unknown>;
}

function array(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) malformed(what);
  return value;
}

function text(value: unknown, what: string): string {
  if (typeof value !== 'string') malformed(what);
  return value;
}

function integer(value: unknown, what: string): number {
  if (!Number.isSafeInteger(value)) malformed(what);
  return value as number;
}

function eventType(value: unknown): EventType {
  const known: readonly unknown[] = EVENT_TYPES;
  if (!known.includes(value)) malformed('event type');
  return value as EventType;
}
