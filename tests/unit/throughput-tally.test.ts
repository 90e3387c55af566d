import { describe, expect, it } from 'vitest';
import { countsSince, ThroughputTally } from '../../src/domain/throughput-tally.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

describe('ThroughputTally', () => {
  it('counts per queue in ten-second and minute buckets, and a window sums the buckets it reaches', () => {
    const tally = new ThroughputTally();
    tally.count('a', 'started', T0);
    tally.count('a', 'finished', T0 + 1_000);
    tally.count('a', 'failed', T0 + 1_000);
    tally.count('a', 'started', T0 + 50 * 60_000);
    tally.count('b', 'started', T0 + 50 * 60_000);
    const now = T0 + 50 * 60_000 + 5_000;
    const snapshot = tally.snapshot(now);
    expect(countsSince([snapshot], 'a', 60_000, now)).toEqual({ started: 1, finished: 0, failed: 0 });
    expect(countsSince([snapshot], 'a', 3_600_000, now)).toEqual({ started: 2, finished: 1, failed: 1 });
    expect(countsSince([snapshot], 'b', 3_600_000, now)).toEqual({ started: 1, finished: 0, failed: 0 });
  });

  it('sums the snapshots of several workers, and forgets buckets older than it keeps', () => {
    const one = new ThroughputTally();
    const two = new ThroughputTally();
    one.count('q', 'started', T0);
    two.count('q', 'started', T0);
    two.count('q', 'started', T0 + 2 * 3_600_000);
    const now = T0 + 2 * 3_600_000 + 1_000;
    expect(countsSince([one.snapshot(now), two.snapshot(now), null], 'q', 3_600_000, now)).toEqual({ started: 1, finished: 0, failed: 0 });
    expect(one.snapshot(now)).toEqual({ tenSeconds: {}, minutes: {} });
  });
});
