import { afterEach, describe, expect, it } from 'vitest';
import { PrioritySlotGate } from '../../adapters/redis/priority-slot-gate.js';
import type { PrioritySlotGateOptions, Slot } from '../../adapters/redis/priority-slot-gate.js';

const HIGH = 2;
const NORMAL = 1;
const LOW = 0;

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('PrioritySlotGate', () => {
  const gates: PrioritySlotGate[] = [];
  const errors: Error[] = [];
  const gate = (options: Partial<PrioritySlotGateOptions> = {}): PrioritySlotGate => {
    const created = new PrioritySlotGate({
      concurrency: 1,
      topRank: HIGH,
      higherRanksWaiting: async () => false,
      maxHoldMs: 5_000,
      relookMs: 10,
      report: (error) => errors.push(error),
      ...options,
    });
    gates.push(created);
    return created;
  };
  afterEach(() => {
    for (const created of gates.splice(0)) created.stop();
    errors.length = 0;
  });

  /** Acquires for each rank in turn and records the order in which slots are granted. */
  function acquireAll(subject: PrioritySlotGate, ranks: readonly number[]): { granted: string[]; slots: Map<string, Slot> } {
    const granted: string[] = [];
    const slots = new Map<string, Slot>();
    ranks.forEach((rank, i) => {
      const name = `r${rank}-${i}`;
      void subject.acquire(rank).then((slot) => {
        if (slot === undefined) return;
        granted.push(name);
        slots.set(name, slot);
      });
    });
    return { granted, slots };
  }

  it('never grants more than `concurrency` slots, and grants again on release', async () => {
    const subject = gate({ concurrency: 2 });
    const { granted, slots } = acquireAll(subject, [HIGH, HIGH, HIGH, HIGH]);
    await tick();
    expect(granted).toHaveLength(2);
    expect(subject.inUse).toBe(2);
    slots.get(granted[0] as string)?.release();
    slots.get(granted[0] as string)?.release(); // a second release changes nothing
    await tick();
    expect(granted).toHaveLength(3);
    expect(subject.inUse).toBe(2);
  });

  it('grants the most urgent rank first, then first come', async () => {
    const subject = gate();
    const blocker = await subject.acquire(HIGH);
    const { granted, slots } = acquireAll(subject, [LOW, NORMAL, HIGH, LOW, HIGH, NORMAL]);
    await tick();
    expect(granted).toEqual([]);
    blocker?.release();
    for (let i = 0; i < 6; i++) {
      await tick();
      await tick();
      slots.get(granted.at(-1) as string)?.release();
    }
    await tick();
    expect(granted).toEqual(['r2-2', 'r2-4', 'r1-1', 'r1-5', 'r0-0', 'r0-3']);
  });

  it('holds a lower rank back while more urgent work waits elsewhere, and grants that work first', async () => {
    const higherWaiting = true;
    const looks: number[] = [];
    const subject = gate({
      higherRanksWaiting: async (rank) => {
        looks.push(rank);
        return higherWaiting;
      },
    });
    const { granted } = acquireAll(subject, [LOW]);
    await sleep(50);
    expect(granted).toEqual([]);
    expect(looks.length).toBeGreaterThan(1); // it looks again while held back

    const { granted: urgent } = acquireAll(subject, [HIGH]); // the work it saw arrives
    await tick();
    expect(urgent).toHaveLength(1);
    expect(granted).toEqual([]);
  });

  it('grants a lower rank at once when the look finds nothing more urgent', async () => {
    const subject = gate({ higherRanksWaiting: async () => false });
    const slot = await subject.acquire(LOW);
    expect(slot).toBeDefined();
  });

  it('holds back for maxHoldMs at most, and treats a failed or hanging look as "nothing waits"', async () => {
    const held = gate({ maxHoldMs: 100, higherRanksWaiting: async () => true });
    const startedMs = Date.now();
    await held.acquire(NORMAL);
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(95);

    const failing = gate({ higherRanksWaiting: async () => Promise.reject(new Error('look failed (expected by the test)')) });
    expect(await failing.acquire(LOW)).toBeDefined();
    expect(errors.map((error) => error.message)).toEqual(['look failed (expected by the test)']);

    const hanging = gate({ maxHoldMs: 100, higherRanksWaiting: () => new Promise(() => {}) });
    expect(await hanging.acquire(LOW)).toBeDefined();
  });

  it('counts a hold afresh once the urgent work it waited for came: the time that work runs is no waiting', async () => {
    const subject = gate({ maxHoldMs: 300, relookMs: 10, higherRanksWaiting: async () => true });
    const { granted } = acquireAll(subject, [LOW]);
    await sleep(60);
    const urgent = await subject.acquire(HIGH); // the work it was held back for
    await sleep(350); // runs past the low waiter's first 300 ms of hold
    urgent?.release();
    await sleep(40);
    expect(granted).toEqual([]); // held again, for more urgent work seen again
    await sleep(400);
    expect(granted).toHaveLength(1); // and let go once that hold reached maxHoldMs
  });

  it('refuses waiters and later acquires once stopped; slots in use may still be released', async () => {
    const subject = gate();
    const slot = await subject.acquire(HIGH);
    const waiting = subject.acquire(HIGH);
    subject.stop();
    expect(await waiting).toBeUndefined();
    expect(await subject.acquire(HIGH)).toBeUndefined();
    slot?.release();
    expect(subject.inUse).toBe(0);
  });
});
