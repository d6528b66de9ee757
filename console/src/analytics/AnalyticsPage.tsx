import { useMemo, useState } from 'react';
import type { GenAiSummary, TimeseriesResult } from '../api/types';
import { navigate } from '../routing/use-location';
import { useOrg, useSession } from '../shell/contexts';
import { formatCount, formatDuration, formatUsd } from '../time/format';
import { DEFAULT_RANGE, resolveRange, type TimeRangeText } from '../time/range';
import { TimeRangePicker } from '../time/TimeRangePicker';
import { Empty, ErrorState, Loading, ResourceView } from '../ui/states';
import { useResource } from '../ui/use-resource';
import { SeriesChart } from './SeriesChart';
import { serviceColors } from '../waterfall/colors';
import { hasData, pivotByGroup, timeTickFormatter, type ChartMetric } from './series';

const MAX_DAYS = 31;
const PERCENTILES = ['p50Ms', 'p90Ms', 'p95Ms', 'p99Ms'] as const;
type Percentile = (typeof PERCENTILES)[number];
const GROUPS = ['service', 'name'] as const;
type Group = (typeof GROUPS)[number];

const fmtRate = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toPrecision(2)) + '/s';
const fmtPct = (v: number): string => `${v.toFixed(v < 10 ? 1 : 0)}%`;
const fmtTokens = (v: number): string => (v >= 1e6 ? `${(v / 1e6).toFixed(1)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : String(v));
const fmtCost = (v: number): string => `$${v < 1 ? v.toPrecision(2) : v.toFixed(2)}`;

/** Request rate, error rate and latency percentiles per service or span name; GenAI tokens and cost per model. */
export function AnalyticsPage({ workspaceId, query }: { workspaceId: string; query: URLSearchParams }) {
  const { api } = useSession();
  const { org } = useOrg();
  const range: TimeRangeText = { from: query.get('from') || DEFAULT_RANGE.from, to: query.get('to') || DEFAULT_RANGE.to };
  const groupBy: Group = (GROUPS as readonly string[]).includes(query.get('groupBy') ?? '') ? (query.get('groupBy') as Group) : 'service';
  const percentile: Percentile = (PERCENTILES as readonly string[]).includes(query.get('p') ?? '') ? (query.get('p') as Percentile) : 'p95Ms';
  const [refresh, setRefresh] = useState(0);
  const key = `${workspaceId}|${range.from}|${range.to}|${groupBy}|${refresh}`;
  const now = useMemo(() => new Date(), [key]);
  const resolved = resolveRange(range, now, MAX_DAYS);

  const set = (patch: Record<string, string>): void => {
    const q = new URLSearchParams(query);
    for (const [k, v] of Object.entries(patch)) q.set(k, v);
    navigate({ page: 'analytics', orgId: org.id, workspaceId }, q);
  };

  const ws = encodeURIComponent(workspaceId);
  const window_ = resolved.ok ? { from: resolved.range.from.toISOString(), to: resolved.range.to.toISOString() } : null;
  const [spans, reloadSpans] = useResource<TimeseriesResult | null>(
    (signal) =>
      window_
        ? api.get<TimeseriesResult>(`/workspaces/${ws}/analytics/timeseries`, { ...window_, groupBy, metric: 'count,errors,errorRate,p50Ms,p90Ms,p95Ms,p99Ms', limit: '8' }, { signal })
        : Promise.resolve(null),
    key,
  );
  const [genai, reloadGenai] = useResource<{ series: TimeseriesResult; summary: GenAiSummary } | null>(async (signal) => {
    if (!window_) return null;
    const [series, summary] = await Promise.all([
      api.get<TimeseriesResult>(`/workspaces/${ws}/analytics/timeseries`, { ...window_, groupBy: 'model', metric: 'calls,inputTokens,outputTokens,costUsd', limit: '8' }, { signal }),
      api.get<GenAiSummary>(`/workspaces/${ws}/analytics/genai`, { ...window_, groupBy: 'model' }, { signal }),
    ]);
    return { series, summary };
  }, key);

  const formatTime = timeTickFormatter(resolved.ok ? resolved.range.to.getTime() - resolved.range.from.getTime() : 3_600_000);
  // Services keep the colour they have in the waterfall and the trace list.
  const chart = (r: TimeseriesResult, metric: ChartMetric) => {
    const pivot = pivotByGroup(r, metric);
    return { ...pivot, ...(r.groupBy === 'service' ? { colors: serviceColors(pivot.keys) } : {}) };
  };

  return (
    <section className="page" aria-labelledby="analytics-title">
      <div className="page-head">
        <h1 id="analytics-title">Analytics</h1>
        <div className="page-actions">
          <label className="field field-inline">
            <span>Group by</span>
            <select value={groupBy} onChange={(e) => set({ groupBy: e.target.value })} aria-label="Group by">
              <option value="service">service</option>
              <option value="name">span name</option>
            </select>
          </label>
          <TimeRangePicker value={range} maxDays={MAX_DAYS} onChange={(r) => set(r as unknown as Record<string, string>)} />
          <button type="button" className="btn" onClick={() => setRefresh((n) => n + 1)}>
            Refresh
          </button>
        </div>
      </div>
      {!resolved.ok ? (
        <div className="form-error" role="alert">
          {resolved.error}
        </div>
      ) : (
        <>
          <h2>Requests</h2>
          <ResourceView resource={spans} onRetry={reloadSpans} loadingLabel="Loading span metrics…">
            {(r) =>
              !r || !hasData(r) ? (
                <Empty title="No spans in this range">Send spans to this workspace, or pick a wider range.</Empty>
              ) : (
                <>
                {r.truncated && r.totalGroups !== undefined ? (
                  <p className="muted" data-testid="groups-truncated">
                    Showing the {r.series.length} largest of {r.totalGroups} {groupBy === 'name' ? 'span names' : 'services'}.
                  </p>
                ) : null}
                <div className="chart-grid" data-testid="span-charts">
                  <SeriesChart title={`Request rate by ${groupBy === 'name' ? 'span name' : 'service'}`} {...chart(r, 'rate')} formatY={fmtRate} formatTime={formatTime} testId="chart-rate" />
                  <SeriesChart title="Error rate" {...chart(r, 'errorRate')} formatY={fmtPct} formatTime={formatTime} testId="chart-errors" />
                  <div className="chart-with-control">
                    <label className="field field-inline chart-control">
                      <span>Latency</span>
                      <select value={percentile} onChange={(e) => set({ p: e.target.value })} aria-label="Latency percentile">
                        {PERCENTILES.map((p) => (
                          <option key={p} value={p}>
                            {p.replace('Ms', '')}
                          </option>
                        ))}
                      </select>
                    </label>
                    <SeriesChart title={`Latency ${percentile.replace('Ms', '')}`} {...chart(r, percentile)} formatY={(v) => formatDuration(v)} formatTime={formatTime} testId="chart-latency" />
                  </div>
                </div>
                </>
              )
            }
          </ResourceView>
          <h2>GenAI</h2>
          {genai.status === 'error' ? (
            <ErrorState error={genai.error} onRetry={reloadGenai} />
          ) : genai.status === 'loading' ? (
            <Loading label="Loading GenAI usage…" />
          ) : !genai.data || genai.data.summary.rows.length === 0 ? (
            <Empty title="No GenAI calls in this range">Spans with gen_ai.usage.* token attributes show up here with their model and cost.</Empty>
          ) : (
            <>
              <div className="chart-grid" data-testid="genai-charts">
                <SeriesChart title="Tokens (input + output) by model" {...chart(genai.data.series, 'tokens')} kind="bar" stacked formatY={fmtTokens} formatTime={formatTime} testId="chart-tokens" />
                <SeriesChart title="Cost (USD) by model" {...chart(genai.data.series, 'costUsd')} kind="bar" stacked formatY={fmtCost} formatTime={formatTime} testId="chart-cost" />
              </div>
              <table className="table" data-testid="genai-table">
                <thead>
                  <tr>
                    <th>Model</th>
                    <th className="num">Calls</th>
                    <th className="num">Input tokens</th>
                    <th className="num">Output tokens</th>
                    <th className="num">Cost</th>
                  </tr>
                </thead>
                <tbody>
                  {genai.data.summary.rows.map((row) => (
                    <tr key={row.model ?? ''}>
                      <td className="mono">{row.model || '(unknown)'}</td>
                      <td className="num">{formatCount(row.calls)}</td>
                      <td className="num">{formatCount(row.inputTokens)}</td>
                      <td className="num">{formatCount(row.outputTokens)}</td>
                      <td className="num">{formatUsd(row.costUsd)}</td>
                    </tr>
                  ))}
                </tbody>
                <tfoot>
                  <tr>
                    <th>Total</th>
                    <th className="num">{formatCount(genai.data.summary.totals.calls)}</th>
                    <th className="num">{formatCount(genai.data.summary.totals.inputTokens)}</th>
                    <th className="num">{formatCount(genai.data.summary.totals.outputTokens)}</th>
                    <th className="num">{formatUsd(genai.data.summary.totals.costUsd)}</th>
                  </tr>
                </tfoot>
              </table>
            </>
          )}
        </>
      )}
    </section>
  );
}
