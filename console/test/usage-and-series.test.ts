import { describe, expect, it } from 'vitest';
import type { TimeseriesResult, UsageReport } from '../src/api/types';
import { hasData, metricValue, pivotByGroup, pivotByMetric } from '../src/analytics/series';
import { daysBetween, lastMonth, quotaView, thisMonth, usageApiRange, usageChart, usageDaysFromQuery } from '../src/usage/usage-data';
import { formatBytes, formatDuration, formatUsd } from '../src/time/format';

const report: UsageReport = {
  from: '2026-11-01',
  to: '2026-11-03',
  groupBy: ['workspace', 'day'],
  rows: [
    { workspaceId: 'w1', workspaceSlug: 'prod', day: '2026-11-01', spans: 10, bytes: 1000, inputTokens: 5, outputTokens: 1, costUsd: '0.25' },
    { workspaceId: 'w2', workspaceSlug: 'dev', day: '2026-11-01', spans: 3, bytes: 300, inputTokens: 0, outputTokens: 0, costUsd: '0.00' },
    { workspaceId: 'w1', workspaceSlug: 'prod', day: '2026-11-03', spans: 7, bytes: 700, inputTokens: 2, outputTokens: 2, costUsd: '0.10' },
  ],
  totals: { spans: 20, bytes: 2000, inputTokens: 7, outputTokens: 3, costUsd: '0.35' },
  quota: { period: '2026-11', monthlySpanQuota: 100, used: 85, remaining: 15 },
};

describe('usage chart and quota', () => {
  it('has a bar per day of the period, stacked by workspace, zero where nothing was sent', () => {
    const { rows, workspaces } = usageChart(report, 'spans');
    expect(workspaces).toEqual(['dev', 'prod']);
    expect(rows).toEqual([
      { day: '2026-11-01', dev: 3, prod: 10 },
      { day: '2026-11-02', dev: 0, prod: 0 },
      { day: '2026-11-03', dev: 0, prod: 7 },
    ]);
    expect(usageChart(report, 'tokens').rows[0]).toEqual({ day: '2026-11-01', dev: 0, prod: 6 });
    expect(usageChart(report, 'costUsd').rows[2]).toEqual({ day: '2026-11-03', dev: 0, prod: 0.1 });
  });

  it('shows quota used and remaining, warning from 80%', () => {
    expect(quotaView(report.quota)).toEqual({ period: '2026-11', used: 85, limit: 100, remaining: 15, usedPct: 85, level: 'warn' });
    expect(quotaView({ period: '2026-11', monthlySpanQuota: null, used: 5, remaining: null })).toMatchObject({ usedPct: null, level: 'ok' });
    expect(quotaView({ period: '2026-11', monthlySpanQuota: 10, used: 12, remaining: 0 })).toMatchObject({ usedPct: 100, level: 'over' });
  });

  it('reads days from the URL, defaulting to this month, and turns them into the API’s exclusive end', () => {
    const now = new Date('2026-11-17T09:00:00Z');
    expect(usageDaysFromQuery(new URLSearchParams(''), now)).toEqual({ from: '2026-11-01', to: '2026-11-17' });
    expect(usageDaysFromQuery(new URLSearchParams('from=2026-10-05&to=2026-10-09'), now)).toEqual({ from: '2026-10-05', to: '2026-10-09' });
    expect(usageDaysFromQuery(new URLSearchParams('from=2026-10-09&to=2026-10-05'), now)).toEqual(thisMonth(now));
    expect(lastMonth(now)).toEqual({ from: '2026-10-01', to: '2026-10-31' });
    expect(usageApiRange({ from: '2026-10-05', to: '2026-10-09' })).toEqual({ from: '2026-10-05T00:00:00.000Z', to: '2026-10-10T00:00:00.000Z' });
    expect(daysBetween('2026-02-27', '2026-03-01')).toEqual(['2026-02-27', '2026-02-28', '2026-03-01']);
  });
});

describe('analytics series', () => {
  const result: TimeseriesResult = {
    from: '2026-11-01T10:00:00Z',
    to: '2026-11-01T10:02:00Z',
    bucket: '1m',
    bucketSeconds: 60,
    groupBy: 'service',
    metrics: ['count', 'errorRate', 'p95Ms'],
    series: [
      { group: 'api', points: [{ time: '2026-11-01T10:00:00Z', count: 120, errorRate: 0.05, p95Ms: 12 }, { time: '2026-11-01T10:01:00Z', count: 0, errorRate: null, p95Ms: null }] },
      { group: '', points: [{ time: '2026-11-01T10:00:00Z', count: 6, errorRate: 0, p95Ms: 3 }, { time: '2026-11-01T10:01:00Z', count: 60, errorRate: 1, p95Ms: 4 }] },
    ],
  };

  it('turns counts into a per-second rate and error rates into percentages', () => {
    expect(metricValue({ time: '', count: 120 }, 'rate', 60)).toBe(2);
    expect(metricValue({ time: '', errorRate: 0.05 }, 'errorRate', 60)).toBe(5);
    expect(metricValue({ time: '', errorRate: null }, 'errorRate', 60)).toBeNull();
    expect(metricValue({ time: '', costUsd: '0.125' }, 'costUsd', 60)).toBe(0.125);
    expect(metricValue({ time: '', inputTokens: 3, outputTokens: 4 }, 'tokens', 60)).toBe(7);
  });

  it('pivots series into one row per bucket', () => {
    const t0 = Date.parse('2026-11-01T10:00:00Z');
    expect(pivotByGroup(result, 'rate')).toEqual({
      keys: ['api', '(none)'],
      rows: [
        { time: t0, api: 2, '(none)': 0.1 },
        { time: t0 + 60_000, api: 0, '(none)': 1 },
      ],
    });
    expect(pivotByMetric(result, ['p95Ms'], 'api')).toEqual([
      { time: t0, p95Ms: 12 },
      { time: t0 + 60_000, p95Ms: null },
    ]);
    expect(hasData(result)).toBe(true);
    expect(hasData({ ...result, series: [] })).toBe(false);
  });
});

describe('formatting', () => {
  it('formats durations, bytes and exact dollars', () => {
    expect(formatDuration(0.25)).toBe('250 µs');
    expect(formatDuration(1.5)).toBe('1.5 ms');
    expect(formatDuration(250)).toBe('250 ms');
    expect(formatDuration(1234)).toBe('1.23 s');
    expect(formatDuration(125_000)).toBe('2m 05s');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatUsd('1234.5')).toBe('$1,234.50');
    expect(formatUsd('0.000123456789')).toBe('$0.000123');
  });
});
