import { describe, expect, it } from 'vitest';
import { ProgressWriter } from '../../src/worker/progress-writer.js';

/** A `write` whose calls stay pending until the test settles them by hand. */
function controllableWrite() {
  const calls: { value: number; resolve: () => void; reject: (error: Error) => void }[] = [];
  const written: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let settledCalls = 0;
  const write = (value: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      calls.push({
        value,
        resolve: () => {
          inFlight -= 1;
          settledCalls += 1;
          written.push(value);
          resolve();
        },
        reject: (error) => {
          inFlight -= 1;
          settledCalls += 1;
          reject(error);
        },
      });
    });
  return {
    write,
    calls,
    written,
    get maxInFlight() {
      return maxInFlight;
    },
    /** The values `write` was called with, in order. */
    values: () => calls.map((call) => call.value),
    /** Settles call `index` successfully and lets the writer react. */
    async complete(index: number) {
      calls[index]!.resolve();
      await settle();
    },
    /** Completes writes, one at a time, until the writer starts no more. */
    async completeAll() {
      await settle();
      for (let index = settledCalls; index < calls.length; index++) await this.complete(index);
    },
    async fail(index: number, error: Error) {
      calls[index]!.reject(error);
      await settle();
    },
  };
}

/** Lets pending promise callbacks run (no timers involved). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** Tracks whether a promise has settled yet. */
function track(promise: Promise<unknown>) {
  const state = { settled: false, error: undefined as unknown };
  promise.then(
    () => {
      state.settled = true;
    },
    (error: unknown) => {
      state.settled = true;
      state.error = error;
    },
  );
  return state;
}

describe('ProgressWriter', () => {
  it('keeps at most one write in flight', async () => {
    const store = controllableWrite();
    const writer = new ProgressWriter(store.write);

    void writer.report(1);
    void writer.report(2);
    void writer.report(3);
    await settle();
    expect(store.calls).toHaveLength(1);

    void writer.report(4);
    void writer.report(5);
    await settle();
    expect(store.calls).toHaveLength(1);

    await store.completeAll();
    await writer.flush();
    expect(store.maxInFlight).toBe(1);
    expect(store.written.at(-1)).toBe(5);
  });

  it('coalesces values reported during a write so only the latest is written next', async () => {
    const store = controllableWrite();
    const writer = new ProgressWriter(store.write);

    void writer.report(1);
    await settle();
    for (let value = 2; value <= 100; value++) void writer.report(value);
    await store.complete(0);

    expect(store.values()).toEqual([1, 100]);
    await store.complete(1);
    expect(store.written).toEqual([1, 100]);
  });

  it('always writes the final value', async () => {
    const store = controllableWrite();
    const writer = new ProgressWriter(store.write);

    // A burst reported at once.
    const burst = [writer.report(1), writer.report(2), writer.report(3)];
    await store.completeAll();
    await Promise.all(burst);
    expect(store.written.at(-1)).toBe(3);

    // A lone report once the writer is idle again.
    const lone = writer.report(4);
    await store.completeAll();
    await lone;
    expect(store.written.at(-1)).toBe(4);

    // Values reported while a write is in flight, the last one just before it lands.
    void writer.report(5);
    await settle();
    void writer.report(6);
    void writer.report(7);
    await store.completeAll();
    await writer.flush();
    expect(store.written.at(-1)).toBe(7);
    expect(store.written).not.toContain(6);
  });

  it('resolves each report() once its value, or a later one, is written', async () => {
    const store = controllableWrite();
    const writer = new ProgressWriter(store.write);

    const first = track(writer.report(1));
    await settle();
    const second = track(writer.report(2));
    await store.complete(0);
    // Value 1 is written, but report(1) shares the flight that goes on to write 2.
    expect(store.written).toEqual([1]);
    expect(second.settled).toBe(false);

    await store.complete(1);
    expect(first).toEqual({ settled: true, error: undefined });
    expect(second).toEqual({ settled: true, error: undefined });
  });

  it('flush() resolves at once when nothing was reported', async () => {
    const store = controllableWrite();
    const writer = new ProgressWriter(store.write);
    await expect(writer.flush()).resolves.toBeUndefined();
    expect(store.calls).toHaveLength(0);
  });

  it('flush() resolves only after everything reported is written', async () => {
    const store = controllableWrite();
    const writer = new ProgressWriter(store.write);

    void writer.report(1);
    await settle();
    void writer.report(2);
    const flushed = track(writer.flush());

    await store.complete(0);
    expect(flushed.settled).toBe(false);
    await store.complete(1);
    expect(flushed).toEqual({ settled: true, error: undefined });
    expect(store.written).toEqual([1, 2]);
  });

  it('rejects report() when its write fails, and keeps working afterwards', async () => {
    const store = controllableWrite();
    const writer = new ProgressWriter(store.write);
    const boom = new Error('store unavailable');

    const failed = writer.report(1);
    const failedOutcome = expect(failed).rejects.toBe(boom);
    await settle();
    await store.fail(0, boom);
    await failedOutcome;

    const next = writer.report(2);
    await settle();
    expect(store.values()).toEqual([1, 2]);
    await store.complete(1);
    await expect(next).resolves.toBeUndefined();
    await expect(writer.flush()).resolves.toBeUndefined();
    expect(store.written).toEqual([2]);
  });

  // Fails against the current source: see the report. A value reported while a write is in flight
  // is dropped if that write fails; flush() then resolves without it ever being written, although
  // the class promises that the last value always reaches the store.
  it('still writes a value reported during a write that fails', async () => {
    const store = controllableWrite();
    const writer = new ProgressWriter(store.write);

    writer.report(1).catch(() => {});
    await settle();
    writer.report(2).catch(() => {});
    await store.fail(0, new Error('transient'));

    // 2 was never attempted; flushing must still get it to the store.
    const flushed = track(writer.flush());
    await settle();
    expect(store.values()).toEqual([1, 2]);
    await store.complete(1);
    expect(flushed).toEqual({ settled: true, error: undefined });
    expect(store.written).toEqual([2]);
  });

  // Fails against the current source: see the report. When `write` throws synchronously, drain()'s
  // `finally` clears `inFlight` before report() stores the rejected promise in it, so every later
  // report() returns that stale rejection and nothing is ever written again.
  it('keeps working after a write that throws synchronously', async () => {
    const written: number[] = [];
    const writer = new ProgressWriter<number>((value) => {
      if (value === 1) throw new Error('thrown before returning a promise');
      written.push(value);
      return Promise.resolve();
    });

    await expect(writer.report(1)).rejects.toThrow('thrown before returning a promise');
    await expect(writer.report(2)).resolves.toBeUndefined();
    expect(written).toEqual([2]);
  });
});
