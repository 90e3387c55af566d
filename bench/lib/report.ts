import { formatNumber, formatSpread, spread } from './stats.js';

/** The bench's results as Markdown: a headline table, one table per workload with ratios, and jobql's own rows. */

export interface Row {
  readonly row: string;
  readonly unit: 'jobs/s' | 'ms';
  /** Per system, one array per round: [value], or [p50, p95, p99] for latency rows. */
  readonly bySystem: ReadonlyMap<string, readonly (readonly number[])[]>;
  readonly ours: readonly string[];
  readonly peers: readonly string[];
}

export interface ExtraRow {
  readonly measure: string;
  readonly unit: string;
  /** Per jobql variant (adapter), one value per round. */
  readonly values: ReadonlyMap<string, readonly number[]>;
  readonly target: string;
  readonly digits: number;
}

export interface ReportInput {
  readonly machine: string;
  readonly settings: Record<string, number | boolean>;
  readonly rows: readonly Row[];
  readonly extras: readonly ExtraRow[];
  readonly seconds: number;
}

const median = (rounds: readonly (readonly number[])[] | undefined, index: number): number => spread((rounds ?? []).map((r) => r[index] ?? Number.NaN)).median;
const spreadAt = (rounds: readonly (readonly number[])[] | undefined, index: number) => spread((rounds ?? []).map((r) => r[index] ?? Number.NaN));

function figure(row: Row, system: string): string {
  const rounds = row.bySystem.get(system);
  if (row.unit === 'ms') return [0, 1, 2].map((i) => formatNumber(median(rounds, i), 2)).join(' / ');
  return formatSpread(spreadAt(rounds, 0));
}

/** ours / peer: throughput above 1 is better; for latency (p50 and p99) below 1 is better. */
function ratio(row: Row, ours: string, peer: string): string {
  const of = (i: number): string => {
    const value = median(row.bySystem.get(ours), i) / median(row.bySystem.get(peer), i);
    return Number.isFinite(value) ? `${formatNumber(value, 2)}×` : '—';
  };
  return row.unit === 'ms' ? `${of(0)} / ${of(2)}` : of(0);
}

function headline(rows: readonly Row[]): string {
  const systems = [...new Set(rows.flatMap((row) => [...row.ours, ...row.peers]))];
  const lines = [`| workload | ${systems.join(' | ')} |`, `| --- | ${systems.map(() => '---:').join(' | ')} |`];
  for (const row of rows) {
    const cells = systems.map((system) => {
      if (!row.bySystem.has(system)) return '';
      return row.unit === 'ms' ? [0, 2].map((i) => formatNumber(median(row.bySystem.get(system), i), 2)).join(' / ') : formatNumber(median(row.bySystem.get(system), 0));
    });
    lines.push(`| ${row.row}${row.unit === 'ms' ? ', p50 / p99 ms' : ', jobs/s'} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

function detail(row: Row, rounds: number): string {
  const what = row.unit === 'ms' ? 'p50 / p95 / p99 ms, medians' : `jobs/s, median (min–max) of ${rounds} rounds`;
  const lines = [
    `### ${row.row}`,
    '',
    `${what}; the ratio columns are jobql / peer (${row.unit === 'ms' ? 'at p50 / p99; below 1 is faster' : 'above 1 is faster'}).`,
    '',
    `| system | ${row.unit === 'ms' ? 'p50 / p95 / p99' : 'jobs/s'} | ${row.peers.map((peer) => `÷ ${peer}`).join(' | ')} |`,
    `| --- | ---: | ${row.peers.map(() => '---:').join(' | ')} |`,
  ];
  for (const system of row.ours) lines.push(`| ${system} | ${figure(row, system)} | ${row.peers.map((peer) => ratio(row, system, peer)).join(' | ')} |`);
  for (const system of row.peers) lines.push(`| ${system} | ${figure(row, system)} | ${row.peers.map(() => '').join(' | ')} |`);
  return lines.join('\n');
}

function extrasTable(extras: readonly ExtraRow[]): string {
  const variants = [...new Set(extras.flatMap((extra) => [...extra.values.keys()]))];
  const lines = [`| measure | ${variants.join(' | ')} | target |`, `| --- | ${variants.map(() => '---:').join(' | ')} | --- |`];
  for (const extra of extras) {
    const cells = variants.map((variant) => {
      const values = extra.values.get(variant);
      return values ? formatSpread(spread(values), extra.digits) : '';
    });
    lines.push(`| ${extra.measure}, ${extra.unit} | ${cells.join(' | ')} | ${extra.target} |`);
  }
  return lines.join('\n');
}

export function renderReport(input: ReportInput): string {
  const rounds = Number(input.settings['rounds'] ?? 1);
  const settings = Object.entries(input.settings)
    .map(([key, value]) => `${key} ${String(value)}`)
    .join(', ');
  return [
    '# Benchmarks',
    '',
    'Written by `npm run bench` (`bench/run.ts`): every system on this machine in one run, the same workloads, interleaved round by round. No-op handlers; jobql keeps its full state in PostgreSQL (jobs, tasks, attempts, events) on every adapter.',
    '',
    '## Machine',
    '',
    input.machine,
    '',
    `Settings: ${settings}. Took ${formatNumber(input.seconds)} s.`,
    '',
    '## Headline (medians)',
    '',
    headline(input.rows),
    '',
    '## jobql only',
    '',
    extrasTable(input.extras),
    '',
    '## Each workload',
    '',
    input.rows.map((row) => detail(row, rounds)).join('\n\n'),
    '',
  ].join('\n');
}
