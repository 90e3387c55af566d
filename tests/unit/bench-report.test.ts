import { describe, expect, it } from 'vitest';
import { renderReport, type Row } from '../../bench/lib/report.js';

const throughput: Row = {
  row: 'process, concurrency 10',
  unit: 'jobs/s',
  bySystem: new Map([
    ['jobql postgres', [[900], [1_000], [1_100]]],
    ['Graphile Worker', [[2_000], [1_900], [2_100]]],
  ]),
  ours: ['jobql postgres'],
  peers: ['Graphile Worker'],
};

const latency: Row = {
  row: 'enqueue → handler start, idle',
  unit: 'ms',
  bySystem: new Map([
    ['jobql postgres', [[2, 3, 4]]],
    ['Graphile Worker', [[4, 5, 8]]],
  ]),
  ours: ['jobql postgres'],
  peers: ['Graphile Worker'],
};

function report(): string {
  return renderReport({
    machine: '- a machine',
    settings: { rounds: 3 },
    rows: [throughput, latency],
    extras: [{ measure: 'one big submitJob', unit: 's', values: new Map([['jobql postgres', [0.4, 0.5, 0.6]]]), target: '≤ 0.5 s', digits: 2 }],
    seconds: 12,
  });
}

describe('the bench report', () => {
  it('puts medians in the headline, p50 / p99 for latency', () => {
    expect(report()).toContain('| process, concurrency 10, jobs/s | 1,000 | 2,000 |');
    expect(report()).toContain('| enqueue → handler start, idle, p50 / p99 ms | 2.00 / 4.00 | 4.00 / 8.00 |');
  });

  it('gives each of our rows its median (min–max) and the ratio to each peer', () => {
    expect(report()).toContain('| jobql postgres | 1,000 (900–1,100) | 0.50× |');
    expect(report()).toContain('| jobql postgres | 2.00 / 3.00 / 4.00 | 0.50× / 0.50× |');
  });

  it('shows jobql’s own rows with their targets', () => {
    expect(report()).toContain('| one big submitJob, s | 0.50 (0.40–0.60) | ≤ 0.5 s |');
  });
});
