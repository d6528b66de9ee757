import { useState } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { UsageReport } from '../api/types';
import { navigate } from '../routing/use-location';
import { useOrg, useSession } from '../shell/contexts';
import { formatBytes, formatCount, formatUsd } from '../time/format';
import { saveBlob } from '../ui/buttons';
import { Empty, ResourceView } from '../ui/states';
import { useResource } from '../ui/use-resource';
import { SERVICE_PALETTE } from '../waterfall/colors';
import {
  lastDays,
  lastMonth,
  MEASURE_LABELS,
  quotaView,
  sortedUsageRows,
  thisMonth,
  usageApiRange,
  usageChart,
  usageDaysFromQuery,
  USAGE_MEASURES,
  workspaceLabel,
  type UsageDays,
  type UsageMeasure,
} from './usage-data';

const formatMeasure = (m: UsageMeasure, v: number): string => (m === 'bytes' ? formatBytes(v) : m === 'costUsd' ? `$${v.toFixed(v < 1 ? 4 : 2)}` : formatCount(v));

function Quota({ report }: { report: UsageReport }) {
  const q = quotaView(report.quota);
  return (
    <div className={`quota quota-${q.level}`} data-testid="quota">
      <div className="quota-head">
        <strong>Span quota · {q.period}</strong>
        <span>
          {formatCount(q.used)} used
          {q.limit === null ? ' · unlimited' : ` of ${formatCount(q.limit)} · ${formatCount(q.remaining ?? 0)} remaining`}
        </span>
      </div>
      {q.usedPct !== null ? (
        <div className="quota-bar" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(q.usedPct)} aria-label="Quota used">
          <div style={{ width: `${q.usedPct}%` }} />
        </div>
      ) : null}
    </div>
  );
}

/** The organization's usage (owners, admins, billing): chart and table per workspace per day, quota, CSV. */
export function UsagePage({ query }: { query: URLSearchParams }) {
  const { api } = useSession();
  const { org } = useOrg();
  const now = new Date();
  const days = usageDaysFromQuery(query, now);
  const measure: UsageMeasure = (USAGE_MEASURES as readonly string[]).includes(query.get('measure') ?? '') ? (query.get('measure') as UsageMeasure) : 'spans';
  const [downloading, setDownloading] = useState<string | null>(null);
  const apiRange = usageApiRange(days);
  const path = `/orgs/${encodeURIComponent(org.id)}/usage`;

  const [report, reload] = useResource((signal) => api.get<UsageReport>(path, { ...apiRange, groupBy: 'workspace,day', format: 'json' }, { signal }), `${org.id}|${days.from}|${days.to}`);

  const go = (next: Partial<UsageDays> & { measure?: UsageMeasure }): void => {
    const q = new URLSearchParams(query);
    if (next.from) q.set('from', next.from);
    if (next.to) q.set('to', next.to);
    if (next.measure) q.set('measure', next.measure);
    navigate({ page: 'usage', orgId: org.id }, q);
  };

  const download = async (): Promise<void> => {
    setDownloading('Preparing CSV…');
    try {
      const file = await api.download(path, { ...apiRange, groupBy: 'workspace,day', format: 'csv' });
      saveBlob(file.blob, file.filename);
      setDownloading(null);
    } catch (err) {
      setDownloading(`Download failed: ${(err as Error).message}`);
    }
  };

  return (
    <section className="page" aria-labelledby="usage-title">
      <div className="page-head">
        <h1 id="usage-title">Usage</h1>
        <div className="page-actions">
          <div className="segmented" role="group" aria-label="Period">
            <button type="button" className="btn" onClick={() => go(thisMonth(now))}>
              This month
            </button>
            <button type="button" className="btn" onClick={() => go(lastMonth(now))}>
              Last month
            </button>
            <button type="button" className="btn" onClick={() => go(lastDays(now, 30))}>
              Last 30 days
            </button>
          </div>
          <label className="field field-inline">
            <span>From</span>
            <input type="date" value={days.from} max={days.to} onChange={(e) => e.target.value && go({ from: e.target.value })} aria-label="First day" />
          </label>
          <label className="field field-inline">
            <span>To</span>
            <input type="date" value={days.to} min={days.from} onChange={(e) => e.target.value && go({ to: e.target.value })} aria-label="Last day" />
          </label>
          <button type="button" className="btn btn-primary" onClick={() => void download()} data-testid="download-csv">
            Download CSV
          </button>
        </div>
      </div>
      {downloading ? <div className="muted small">{downloading}</div> : null}
      <ResourceView resource={report} onRetry={reload} loadingLabel="Loading usage…">
        {(r) => {
          const { rows, workspaces } = usageChart(r, measure);
          const table = sortedUsageRows(r.rows);
          return (
            <>
              <Quota report={r} />
              <div className="totals" data-testid="usage-totals">
                <div className="stat">
                  <span>Spans</span>
                  <strong>{formatCount(r.totals.spans)}</strong>
                </div>
                <div className="stat">
                  <span>Bytes</span>
                  <strong>{formatBytes(r.totals.bytes)}</strong>
                </div>
                <div className="stat">
                  <span>Tokens</span>
                  <strong>{formatCount(r.totals.inputTokens + r.totals.outputTokens)}</strong>
                </div>
                <div className="stat">
                  <span>Cost</span>
                  <strong>{formatUsd(r.totals.costUsd)}</strong>
                </div>
              </div>
              {r.unpricedModels && r.unpricedModels.length ? <div className="warning">No price for {r.unpricedModels.join(', ')}: their cost is not included.</div> : null}
              <figure className="chart-card" data-testid="usage-chart">
                <figcaption>
                  {MEASURE_LABELS[measure]} per workspace per day ({r.from} – {r.to}, UTC)
                  <select className="inline-select" value={measure} onChange={(e) => go({ measure: e.target.value as UsageMeasure })} aria-label="Measure">
                    {USAGE_MEASURES.map((m) => (
                      <option key={m} value={m}>
                        {MEASURE_LABELS[m]}
                      </option>
                    ))}
                  </select>
                </figcaption>
                {table.length === 0 ? (
                  <Empty title="No usage in this period">Usage appears as the collector accepts spans.</Empty>
                ) : (
                  <div className="chart-box">
                    <ResponsiveContainer width="100%" height="100%">
                      <BarChart data={rows} margin={{ top: 8, right: 16, bottom: 0, left: 8 }}>
                        <CartesianGrid strokeDasharray="3 3" stroke="#e5e7eb" />
                        <XAxis dataKey="day" tick={{ fontSize: 11 }} />
                        <YAxis tickFormatter={(v: number) => formatMeasure(measure, v)} tick={{ fontSize: 11 }} width={72} />
                        <Tooltip formatter={(v) => (typeof v === 'number' ? formatMeasure(measure, v) : String(v))} />
                        <Legend wrapperStyle={{ fontSize: 12 }} />
                        {workspaces.map((w, i) => (
                          <Bar key={w} dataKey={w} stackId="ws" fill={SERVICE_PALETTE[i % SERVICE_PALETTE.length]} isAnimationActive={false} />
                        ))}
                      </BarChart>
                    </ResponsiveContainer>
                  </div>
                )}
              </figure>
              {table.length > 0 ? (
                <table className="table" data-testid="usage-table">
                  <thead>
                    <tr>
                      <th>Day</th>
                      <th>Workspace</th>
                      <th className="num">Spans</th>
                      <th className="num">Bytes</th>
                      <th className="num">Input tokens</th>
                      <th className="num">Output tokens</th>
                      <th className="num">Cost</th>
                    </tr>
                  </thead>
                  <tbody>
                    {table.map((row) => (
                      <tr key={`${row.day}|${row.workspaceId}`}>
                        <td className="mono">{row.day}</td>
                        <td>{workspaceLabel(row)}</td>
                        <td className="num">{formatCount(row.spans)}</td>
                        <td className="num">{formatBytes(row.bytes)}</td>
                        <td className="num">{formatCount(row.inputTokens)}</td>
                        <td className="num">{formatCount(row.outputTokens)}</td>
                        <td className="num">{formatUsd(row.costUsd)}</td>
                      </tr>
                    ))}
                  </tbody>
                  <tfoot>
                    <tr>
                      <th colSpan={2}>Total</th>
                      <th className="num">{formatCount(r.totals.spans)}</th>
                      <th className="num">{formatBytes(r.totals.bytes)}</th>
                      <th className="num">{formatCount(r.totals.inputTokens)}</th>
                      <th className="num">{formatCount(r.totals.outputTokens)}</th>
                      <th className="num">{formatUsd(r.totals.costUsd)}</th>
                    </tr>
                  </tfoot>
                </table>
              ) : null}
            </>
          );
        }}
      </ResourceView>
    </section>
  );
}
