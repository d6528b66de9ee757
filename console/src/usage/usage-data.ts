import type { UsageReport, UsageRow } from '../api/types';

/** The usage page's arithmetic: rows → a chart by day and workspace, quota figures. Pure. */
export const USAGE_MEASURES = ['spans', 'bytes', 'tokens', 'costUsd'] as const;
export type UsageMeasure = (typeof USAGE_MEASURES)[number];

export const MEASURE_LABELS: Readonly<Record<UsageMeasure, string>> = {
  spans: 'Spans',
  bytes: 'Bytes',
  tokens: 'Tokens (input + output)',
  costUsd: 'Cost (USD)',
};

export function measureOf(row: UsageRow, measure: UsageMeasure): number {
  switch (measure) {
    case 'spans':
      return row.spans;
    case 'bytes':
      return row.bytes;
    case 'tokens':
      return row.inputTokens + row.outputTokens;
    case 'costUsd':
      return Number(row.costUsd);
  }
}

/** Every day from `from` to `to` (inclusive, `YYYY-MM-DD`, UTC). */
export function daysBetween(from: string, to: string, maxDays = 400): string[] {
  const out: string[] = [];
  const end = Date.parse(`${to}T00:00:00Z`);
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= end && out.length < maxDays; t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

export const workspaceLabel = (row: Pick<UsageRow, 'workspaceSlug' | 'workspaceId'>): string => row.workspaceSlug || row.workspaceId || '(all)';

/** One chart row per day of the report, one field per workspace (0 where it sent nothing). */
export function usageChart(report: UsageReport, measure: UsageMeasure): { rows: Array<Record<string, number | string>>; workspaces: string[] } {
  const workspaces = [...new Set(report.rows.map(workspaceLabel))].sort();
  const byDay = new Map<string, Record<string, number | string>>();
  for (const day of daysBetween(report.from, report.to)) byDay.set(day, Object.fromEntries([['day', day], ...workspaces.map((w) => [w, 0])]));
  for (const row of report.rows) {
    const day = row.day ?? report.from;
    const entry = byDay.get(day) ?? Object.fromEntries([['day', day], ...workspaces.map((w) => [w, 0])]);
    byDay.set(day, entry);
    const ws = workspaceLabel(row);
    entry[ws] = (entry[ws] as number) + measureOf(row, measure);
  }
  return { rows: [...byDay.values()].sort((a, b) => String(a.day).localeCompare(String(b.day))), workspaces };
}

/** Rows for the table: by day, then workspace. */
export function sortedUsageRows(rows: readonly UsageRow[]): UsageRow[] {
  return [...rows].sort((a, b) => (a.day ?? '').localeCompare(b.day ?? '') || workspaceLabel(a).localeCompare(workspaceLabel(b)));
}

export interface QuotaView {
  period: string;
  used: number;
  limit: number | null;
  remaining: number | null;
  /** 0–100, null when unlimited */
  usedPct: number | null;
  level: 'ok' | 'warn' | 'over';
}

export function quotaView(quota: UsageReport['quota']): QuotaView {
  const limit = quota.monthlySpanQuota;
  const usedPct = limit === null ? null : limit === 0 ? 100 : Math.min(100, (quota.used / limit) * 100);
  const level = usedPct === null ? 'ok' : quota.used >= (limit ?? Infinity) ? 'over' : usedPct >= 80 ? 'warn' : 'ok';
  return { period: quota.period, used: quota.used, limit, remaining: quota.remaining, usedPct, level };
}

export interface UsageDays {
  /** first day, YYYY-MM-DD */
  from: string;
  /** last day included, YYYY-MM-DD */
  to: string;
}

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;
const isDay = (s: string | null): s is string => s !== null && DAY_RE.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`));
const utcDay = (d: Date): string => d.toISOString().slice(0, 10);

/** The usage page's days from its URL (`?from=2026-11-01&to=2026-11-30`); default: this month so far (UTC). */
export function usageDaysFromQuery(query: URLSearchParams, now: Date): UsageDays {
  const from = query.get('from');
  const to = query.get('to');
  if (isDay(from) && isDay(to) && from <= to) return { from, to };
  return thisMonth(now);
}

export function thisMonth(now: Date): UsageDays {
  return { from: utcDay(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1))), to: utcDay(now) };
}

export function lastMonth(now: Date): UsageDays {
  return {
    from: utcDay(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1))),
    to: utcDay(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 0))),
  };
}

export function lastDays(now: Date, n: number): UsageDays {
  return { from: utcDay(new Date(now.getTime() - (n - 1) * 86_400_000)), to: utcDay(now) };
}

/** Days → the API's `from` (inclusive instant) and `to` (exclusive: the day after the last). */
export function usageApiRange(days: UsageDays): { from: string; to: string } {
  return { from: `${days.from}T00:00:00.000Z`, to: new Date(Date.parse(`${days.to}T00:00:00Z`) + 86_400_000).toISOString() };
}
