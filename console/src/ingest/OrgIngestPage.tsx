import { useMemo, useState } from 'react';
import type { OrgIngestReport } from '../api/types';
import { formatHash } from '../routing/routes';
import { navigate } from '../routing/use-location';
import { useOrg, useSession } from '../shell/contexts';
import { formatCount } from '../time/format';
import { DEFAULT_RANGE, resolveRange, type TimeRangeText } from '../time/range';
import { TimeRangePicker } from '../time/TimeRangePicker';
import { Empty, ErrorState, Loading } from '../ui/states';
import { useResource } from '../ui/use-resource';
import { INGEST_MAX_DAYS, lagView, REFRESH_MS, rejectedTotal, sumCounts, workspaceRows } from './ledger';
import { useAutoRefresh } from './use-auto-refresh';
import './ingest.css';

/** The organization's ingest at a glance (owners, admins): accepted, stored and lag per workspace. */
export function OrgIngestPage({ query }: { query: URLSearchParams }) {
  const { api } = useSession();
  const { org } = useOrg();
  const range: TimeRangeText = { from: query.get('from') || DEFAULT_RANGE.from, to: query.get('to') || DEFAULT_RANGE.to };
  const [manual, setManual] = useState(0);
  const tick = useAutoRefresh(REFRESH_MS, true);
  const key = `${org.id}|${range.from}|${range.to}|${tick}|${manual}`;
  const now = useMemo(() => new Date(), [key]);
  const resolved = resolveRange(range, now, INGEST_MAX_DAYS);

  const [report, reload] = useResource<OrgIngestReport | null>(
    (signal) =>
      resolved.ok
        ? api.get<OrgIngestReport>(`/orgs/${encodeURIComponent(org.id)}/ingest`, { from: resolved.range.from.toISOString(), to: resolved.range.to.toISOString() }, { signal })
        : Promise.resolve(null),
    key,
  );
  const shown = report.status === 'ready' ? report.data : report.previous;
  const rows = shown ? workspaceRows(shown) : [];
  const totals = sumCounts(rows);

  return (
    <section className="page ingest-page" aria-labelledby="org-ingest-title">
      <div className="page-head">
        <h1 id="org-ingest-title">Ingest · {org.name}</h1>
        <div className="page-actions">
          <TimeRangePicker
            value={range}
            maxDays={INGEST_MAX_DAYS}
            onChange={(r) => navigate({ page: 'org-ingest', orgId: org.id }, new URLSearchParams({ ...Object.fromEntries(query), from: r.from, to: r.to }))}
          />
          <button type="button" className="btn" onClick={() => setManual((m) => m + 1)}>
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
          {report.status === 'error' ? <ErrorState error={report.error} onRetry={reload} /> : null}
          {!shown ? (
            report.status === 'loading' ? <Loading label="Loading the ingest ledger…" /> : null
          ) : rows.length === 0 ? (
            <Empty title="No workspaces yet" />
          ) : (
            <table className="table" data-testid="org-ingest-table">
              <thead>
                <tr>
                  <th>Workspace</th>
                  <th className="num">Accepted</th>
                  <th className="num">Stored</th>
                  <th className="num">Queued</th>
                  <th className="num">Rejected</th>
                  <th className="num">Dead-lettered</th>
                  <th>Lag (now)</th>
                  <th>Reconciliation</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => {
                  const lag = r.lag ? lagView(r.lag) : null;
                  return (
                    <tr key={r.workspaceId} data-workspace-id={r.workspaceId}>
                      <td>
                        <a href={formatHash({ page: 'ingest', orgId: org.id, workspaceId: r.workspaceId }, new URLSearchParams({ from: range.from, to: range.to }))}>{r.workspaceSlug}</a>
                      </td>
                      <td className="num">{formatCount(r.accepted)}</td>
                      <td className="num">{formatCount(r.stored)}</td>
                      <td className="num">{formatCount(r.queued)}</td>
                      <td className="num">{formatCount(rejectedTotal(r.rejected))}</td>
                      <td className={r.deadLettered > 0 ? 'num error-text' : 'num'}>{formatCount(r.deadLettered)}</td>
                      <td className={lag ? `lag-${lag.caughtUp ? 'ok' : lag.level}` : 'muted'}>{lag ? `${lag.lag} · ${lag.pending}` : '—'}</td>
                      <td className={r.flaggedMinutes > 0 ? 'error-text' : 'muted'}>
                        {r.flaggedMinutes === 0 ? 'nothing flagged' : r.flaggedMinutes === 1 ? '1 minute does not add up' : `${r.flaggedMinutes} minutes do not add up`}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
              <tfoot>
                <tr>
                  <th>Total</th>
                  <th className="num">{formatCount(totals.accepted)}</th>
                  <th className="num">{formatCount(totals.stored)}</th>
                  <th className="num">{formatCount(totals.queued)}</th>
                  <th className="num">{formatCount(rejectedTotal(totals.rejected))}</th>
                  <th className="num">{formatCount(totals.deadLettered)}</th>
                  <th colSpan={2} />
                </tr>
              </tfoot>
            </table>
          )}
        </>
      )}
    </section>
  );
}
