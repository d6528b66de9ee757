import type { TimeseriesPoint, TimeseriesResult } from '../api/types';

/**
 * The analytics API's series → rows a chart library plots: one row per bucket, one field
 * per series (or per metric). Pure.
 */
export type ChartRow = { time: number } & Record<string, number | null>;

export type ChartMetric = 'rate' | 'errorRate' | 'p50Ms' | 'p90Ms' | 'p95Ms' | 'p99Ms' | 'inputTokens' | 'outputTokens' | 'tokens' | 'costUsd' | 'count' | 'calls';

/** The value of one metric in one bucket; `rate` is spans per second, `errorRate` a percentage. */
export function metricValue(point: TimeseriesPoint, metric: ChartMetric, bucketSeconds: number): number | null {
  switch (metric) {
    case 'rate':
      return point.count === undefined ? null : point.count / Math.max(1, bucketSeconds);
    case 'errorRate':
      return point.errorRate === undefined || point.errorRate === null ? null : point.errorRate * 100;
    case 'costUsd':
      return point.costUsd === undefined ? null : Number(point.costUsd);
    case 'tokens':
      return point.inputTokens === undefined && point.outputTokens === undefined ? null : (point.inputTokens ?? 0) + (point.outputTokens ?? 0);
    default: {
      const v = point[metric];
      return v === undefined || v === null ? null : v;
    }
  }
}

/** Label of a series: the group, or `(none)` for spans without one. */
export const seriesLabel = (group: string): string => (group === '' ? '(none)' : group);

/** One metric, one field per series (grouped charts). */
export function pivotByGroup(result: TimeseriesResult, metric: ChartMetric): { rows: ChartRow[]; keys: string[] } {
  const keys = result.series.map((s) => seriesLabel(s.group));
  const rows = new Map<string, ChartRow>();
  result.series.forEach((series, i) => {
    for (const p of series.points) {
      let row = rows.get(p.time);
      if (!row) rows.set(p.time, (row = { time: Date.parse(p.time) } as ChartRow));
      row[keys[i]!] = metricValue(p, metric, result.bucketSeconds);
    }
  });
  return { rows: [...rows.values()].sort((a, b) => a.time - b.time), keys };
}

/** Several metrics of one series (e.g. p50/p90/p95/p99 of everything), one field per metric. */
export function pivotByMetric(result: TimeseriesResult, metrics: readonly ChartMetric[], group = ''): ChartRow[] {
  const series = result.series.find((s) => s.group === group) ?? result.series[0];
  if (!series) return [];
  return series.points
    .map((p) => {
      const row = { time: Date.parse(p.time) } as ChartRow;
      for (const m of metrics) row[m] = metricValue(p, m, result.bucketSeconds);
      return row;
    })
    .sort((a, b) => a.time - b.time);
}

/** Whether any bucket of any series has data (to show an empty state instead of flat lines). */
export function hasData(result: TimeseriesResult): boolean {
  return result.series.some((s) => s.points.some((p) => (p.count ?? 0) > 0 || (p.calls ?? 0) > 0));
}

/** A tick label for a bucket time: `14:05` within a day, `11-02 14:00` within a week, else `11-02`. */
export function timeTickFormatter(rangeMs: number): (time: number) => string {
  return (time: number) => {
    const d = new Date(time);
    const pad = (n: number): string => String(n).padStart(2, '0');
    const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    const md = `${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
    if (rangeMs <= 86_400_000) return hm;
    if (rangeMs <= 7 * 86_400_000) return `${md} ${hm}`;
    return md;
  };
}
