import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EventBus } from '../../adapters/event-bus.js';
import { activeResources, progressData, syntheticEvents } from './event-fixtures.js';
import type { JobEvent, JobEventData } from '../../src/domain/job-event.js';

/** Two buses on one fresh channel, standing for two processes. */
export interface BusPair {
  readonly a: EventBus;
  /** The same bus as `a` for a bus of one process. */
  readonly b: EventBus;
  readonly channel: string;
  /** What either bus reported to its onError. */
  readonly errors: Error[];
  close(): Promise<void>;
}

/** A bus whose sends fail. */
export interface FailingBus {
  readonly bus: EventBus;
  readonly errors: Error[];
  /** What a failed send looks like among `errors`. */
  readonly sendError: RegExp;
  close(): Promise<void>;
}

export interface EventBusHarness {
  readonly crossProcess: boolean;
  /** Buses that are listening when this settles. */
  openPair(): Promise<BusPair>;
  /** Events of a new job shaped like `syntheticEvents`; stored first when the bus reads the store. */
  events(progress: readonly JobEventData[]): Promise<JobEvent[]>;
  openFailing?(): Promise<FailingBus>;
  /** How many connections still listen on the channel, as the server sees it. */
  listenersOnServer?(channel: string): Promise<number>;
}

const WAIT = { timeout: 10_000, interval: 20 };

interface Collected<T> {
  readonly seen: T[];
  stop(): void;
}

function collectEvents(bus: EventBus, jobId: string): Collected<JobEvent> {
  const seen: JobEvent[] = [];
  return { seen, stop: bus.subscribe(jobId, (event) => seen.push(event)) };
}

function collectCancels(bus: EventBus): Collected<string> {
  const seen: string[] = [];
  return { seen, stop: bus.onCancelRequested((taskId) => seen.push(taskId)) };
}

/**
 * The event-bus contract, on the `EventBus` interface alone: local, PostgreSQL and Redis buses
 * run it unchanged. Each test opens its own pair on its own channel.
 */
export function describeEventBus(name: string, harness: EventBusHarness): void {
  /** A test that applies only when `applies`; otherwise it is skipped with a printed reason, never silently. */
  const itWhen = (applies: boolean, reason: string, title: string, body: () => Promise<void>): void => {
    it(title, async ({ skip }) => {
      if (!applies) {
        console.info(`[event-bus:${name}] "${title}" skipped: ${reason}`);
        skip(reason);
      }
      await body();
    });
  };

  describe(`event bus contract: ${name}`, () => {
    let pair: BusPair | undefined;
    const open = async (): Promise<BusPair> => (pair = await harness.openPair());
    afterEach(async () => {
      await pair?.close();
      pair = undefined;
    });

    /** Once `to` hears a marker published on `from` after it, `to` has handled all `from` sent before. */
    const roundTrip = async (from: EventBus, to: EventBus): Promise<void> => {
      const [marker] = syntheticEvents([]);
      const heard = collectEvents(to, marker!.jobId);
      from.publish([marker!]);
      await vi.waitFor(() => expect(heard.seen).toHaveLength(1), WAIT);
      heard.stop();
    };
    /** Everything either bus sent so far has reached the other, echoes included. */
    const settle = async (p: BusPair): Promise<void> => {
      if (!harness.crossProcess) return;
      await roundTrip(p.b, p.a);
      await roundTrip(p.a, p.b);
    };

    it('delivers an event published on A to a subscriber on B once, in order, with every field and Date intact', async () => {
      const p = await open();
      const events = await harness.events([progressData(1), progressData(2, null), progressData(3, 'ünïcødé ✓ "quoted"')]);
      const jobId = events[0]!.jobId;
      const onB = collectEvents(p.b, jobId);
      const onA = collectEvents(p.a, jobId);

      p.a.publish(events.slice(0, 2));
      p.a.publish(events.slice(2));
      await vi.waitFor(() => expect(onB.seen).toHaveLength(events.length), WAIT);
      await settle(p);

      expect(onB.seen).toStrictEqual(events);
      for (const event of onB.seen) expect(event.at).toBeInstanceOf(Date);
      // The publishing process's own subscriber, once: not again when the server echoes it.
      expect(onA.seen).toStrictEqual(events);
      expect(p.errors).toEqual([]);
    });

    it('keeps the order of a burst of events across many publishes and messages', async () => {
      const p = await open();
      const events = await harness.events(Array.from({ length: 300 }, (_, i) => progressData(i, `step ${i} `.padEnd(120, '.'))));
      const onB = collectEvents(p.b, events[0]!.jobId);

      p.a.publish(events.slice(0, 200));
      for (const event of events.slice(200)) p.a.publish([event]);
      await vi.waitFor(() => expect(onB.seen).toHaveLength(events.length), WAIT);
      await settle(p);

      expect(onB.seen.map((event) => event.seq)).toEqual(events.map((event) => event.seq));
      expect(onB.seen).toStrictEqual(events);
      expect(p.errors).toEqual([]);
    });

    it('delivers events published as sent by their statement to its own process only', async () => {
      const p = await open();
      const events = await harness.events([progressData(1)]);
      const jobId = events[0]!.jobId;
      const onA = collectEvents(p.a, jobId);
      const onB = collectEvents(p.b, jobId);

      p.a.publishSent(events);
      await settle(p);

      expect(onA.seen).toStrictEqual(events);
      // One process (the local bus): A and B are the same bus.
      expect(onB.seen).toStrictEqual(harness.crossProcess ? [] : events);
      expect(p.errors).toEqual([]);
    });

    it("delivers only the subscribed job's events", async () => {
      const p = await open();
      const mine = await harness.events([progressData(1)]);
      const other = await harness.events([progressData(1)]);
      const onB = collectEvents(p.b, mine[0]!.jobId);

      p.a.publish(other);
      p.a.publish(mine);
      p.a.publish([...other, ...mine]);
      await vi.waitFor(() => expect(onB.seen).toHaveLength(mine.length * 2), WAIT);
      await settle(p);

      expect(onB.seen).toStrictEqual([...mine, ...mine]);
      expect(p.errors).toEqual([]);
    });

    it('stops delivering to a listener once it unsubscribes', async () => {
      const p = await open();
      const events = await harness.events([progressData(1), progressData(2)]);
      const jobId = events[0]!.jobId;
      const onB = collectEvents(p.b, jobId);
      const stays = collectEvents(p.b, jobId);
      const onA = collectEvents(p.a, jobId);

      p.a.publish(events.slice(0, 1));
      await vi.waitFor(() => expect(onB.seen).toHaveLength(1), WAIT);
      onB.stop();
      onA.stop();
      onB.stop(); // a second call changes nothing
      p.a.publish(events.slice(1));
      await vi.waitFor(() => expect(stays.seen).toHaveLength(events.length), WAIT);
      await settle(p);

      expect(onB.seen).toStrictEqual(events.slice(0, 1));
      expect(onA.seen).toStrictEqual(events.slice(0, 1));
      expect(stays.seen).toStrictEqual(events);
      expect(p.errors).toEqual([]);
    });

    it('delivers requestCancel on A to onCancelRequested on B once, and to A itself once', async () => {
      const p = await open();
      // Enough task ids to pass a NOTIFY payload.
      const taskIds = Array.from({ length: 400 }, () => randomUUID());
      const onB = collectCancels(p.b);
      const onA = collectCancels(p.a);

      p.a.requestCancel(taskIds.slice(0, 1));
      p.a.requestCancel(taskIds.slice(1));
      await vi.waitFor(() => expect(onB.seen).toHaveLength(taskIds.length), WAIT);
      const fromB = randomUUID();
      p.b.requestCancel([fromB]);
      await vi.waitFor(() => expect(onA.seen).toContain(fromB), WAIT);
      await settle(p);

      expect(onB.seen).toEqual([...taskIds, fromB]);
      expect(onA.seen).toEqual([...taskIds, fromB]);
      onB.stop();
      p.a.requestCancel([randomUUID()]);
      await settle(p);
      expect(onB.seen).toHaveLength(taskIds.length + 1);
      expect(p.errors).toEqual([]);
    });

    it('delivers events larger than a NOTIFY payload (8000 bytes) intact and in order', async () => {
      const p = await open();
      const events = await harness.events([
        progressData(1),
        progressData(2, 'x'.repeat(20_000)),
        // Fewer than 8000 characters, more than 8000 bytes.
        progressData(3, 'é'.repeat(4_500)),
        progressData(4),
      ]);
      expect(Buffer.byteLength(JSON.stringify(events[4]))).toBeGreaterThan(8_000);
      expect(JSON.stringify(events[4]).length).toBeLessThan(8_000);
      const onB = collectEvents(p.b, events[0]!.jobId);
      const onA = collectEvents(p.a, events[0]!.jobId);

      p.a.publish(events);
      await vi.waitFor(() => expect(onB.seen).toHaveLength(events.length), WAIT);
      await settle(p);

      expect(onB.seen).toStrictEqual(events);
      expect(onA.seen).toStrictEqual(events);
      expect(p.errors).toEqual([]);
    });

    it('reports what a listener throws to onError, and still delivers to the other listeners', async () => {
      const p = await open();
      const events = await harness.events([progressData(1)]);
      const jobId = events[0]!.jobId;
      const boom = new Error('listener failed');
      p.b.subscribe(jobId, () => {
        throw boom;
      });
      const onB = collectEvents(p.b, jobId);
      p.a.onCancelRequested(() => {
        throw boom;
      });
      const cancels = collectCancels(p.a);

      expect(() => p.a.publish(events)).not.toThrow();
      expect(() => p.a.requestCancel(['t1'])).not.toThrow();
      await vi.waitFor(() => expect(onB.seen).toHaveLength(events.length), WAIT);

      expect(cancels.seen).toEqual(['t1']);
      expect(p.errors).toEqual(Array.from({ length: events.length + 1 }, () => boom));
    });

    itWhen(harness.crossProcess, 'the bus sends nothing out of its process', 'reports an event that cannot be sent to onError instead of throwing', async () => {
      const p = await open();
      const [event] = await harness.events([]);
      // JSON has no bigint.
      const unsendable = { ...event!, data: { attempt: 1n } as unknown as JobEventData };
      const onA = collectEvents(p.a, event!.jobId);

      expect(() => p.a.publish([unsendable])).not.toThrow();

      expect(p.errors.map((error) => error.message)).toEqual([expect.stringMatching(/bigint/i)]);
      expect(onA.seen).toEqual([unsendable]);
    });

    itWhen(harness.openFailing !== undefined, 'the bus has no send that can fail', 'reports a failed send to onError, never as a throw or an unhandled rejection', async () => {
      const failing = await harness.openFailing!();
      try {
        const events = await harness.events([progressData(1)]);
        expect(() => failing.bus.publish(events)).not.toThrow();
        expect(() => failing.bus.requestCancel(['t1'])).not.toThrow();
        await vi.waitFor(() => expect(failing.errors.filter((error) => failing.sendError.test(error.message)).length).toBeGreaterThan(0), WAIT);
      } finally {
        await failing.close();
      }
    });

    it('leaves no sockets or timers behind once closed', async () => {
      // Storing the events may open connections of the test's own pool: count after that.
      const events = await harness.events([progressData(1), progressData(2, 'y'.repeat(10_000))]);
      const before = activeResources();
      const p = await harness.openPair();
      const onB = collectEvents(p.b, events[0]!.jobId);
      const cancels = collectCancels(p.b);
      p.a.publish(events);
      p.a.requestCancel(['t1']);
      await vi.waitFor(() => expect(onB.seen).toHaveLength(events.length), WAIT);
      await vi.waitFor(() => expect(cancels.seen).toEqual(['t1']), WAIT);

      await p.close();
      await p.close(); // closing twice is harmless

      const after = activeResources();
      for (const [kind, count] of after) expect(count, kind).toBeLessThanOrEqual(before.get(kind) ?? 0);
      expect(() => p.a.publish(events)).not.toThrow();
      expect(() => p.a.requestCancel(['t2'])).not.toThrow();
      if (harness.listenersOnServer) {
        await vi.waitFor(async () => expect(await harness.listenersOnServer!(p.channel)).toBe(0), WAIT);
      }
      expect(p.errors).toEqual([]);
    });
  });
}
