import { describe, expect, it } from 'vitest';
import { formatSpread, latencyPercentiles, percentile, spread } from '../../bench/lib/stats.js';

describe('bench statistics', () => {
  it('takes the median and the spread of an odd and an even count', () => {
    expect(spread([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3 });
    expect(spread([4, 1, 3, 2])).toEqual({ median: 2, min: 1, max: 4 });
  });

  it('uses nearest-rank percentiles', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(sorted, 50), percentile(sorted, 95), percentile(sorted, 99), percentile(sorted, 100)]).toEqual([50, 95, 99, 100]);
    expect(latencyPercentiles([5, 1, 3])).toEqual({ p50: 3, p95: 5, p99: 5 });
    expect(percentile([], 50)).toBeNaN();
  });

  it('formats a spread, and a single value without one', () => {
    expect(formatSpread({ median: 1234.4, min: 1100, max: 1300 })).toBe('1,234 (1,100–1,300)');
    expect(formatSpread({ median: 1.234, min: 1.234, max: 1.234 }, 2)).toBe('1.23');
    expect(formatSpread({ median: Number.NaN, min: 0, max: 0 })).toBe('—');
  });
});
