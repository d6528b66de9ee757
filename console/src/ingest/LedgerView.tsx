import type { IngestReport } from '../api/types';
import { formatCount, formatIso } from '../time/format';
import { Empty } from '../ui/states';
import { differenceText, keyBreakdown, lagView, minuteRows, reconciliationView, rejectedTotal, REJECT_REASONS } from './ledger';
import { LedgerChart } from './LedgerChart';

function Stat({ label, value, hint, testId, tone }: { label: string; value: string; hint?: string; testId: string; tone?: 'ok' | 'warn' | 'bad' }) {
  return (
    <div className={tone ? `stat ingest-stat tone-${tone}` : 'stat ingest-stat'} data-testid={testId}>
      <span>{label}</span>
      <strong data-testid={`${testId}-value`}>{value}</strong>
      {hint ? <small>{hint}</small> : null}
    </div>
  );
}

/** Headline numbers: what came in, what is stored, what is still on its way, what was lost and why. */
export function LedgerStats({ report }: { report: IngestReport }) {
  const { totals } = report;
  const lag = lagView(report.lag);
  const rejected = rejectedTotal(totals.rejected);
  const reasons = REJECT_REASONS.filter((r) => totals.rejected[r.key] > 0).map((r) => `${formatCount(totals.rejected[r.key])} ${r.label}`);
  return (
    <div className="ingest-stats" data-testid="ingest-totals">
      <Stat label="Accepted" value={formatCount(totals.accepted)} hint="spans the collector took (2xx)" testId="stat-accepted" />
      <Stat label="Stored" value={formatCount(totals.stored)} hint="spans in ClickHouse" testId="stat-stored" />
      <Stat label="Queued" value={formatCount(totals.queued)} hint="accepted, not yet stored" testId="stat-queued" />
      <Stat label="Rejected" value={formatCount(rejected)} hint={reasons.length ? reasons.join(' · ') : 'none refused'} testId="stat-rejected" tone={rejected > 0 ? 'warn' : undefined} />
      <Stat
        label="Dead-lettered"
        value={formatCount(totals.deadLettered)}
        hint={`spans in open dead letters${totals.discarded > 0 ? ` · ${formatCount(totals.discarded)} discarded` : ''}`}
        testId="stat-dead-lettered"
        tone={totals.deadLettered > 0 ? 'bad' : undefined}
      />
      <Stat label="Lag (now)" value={lag.lag} hint={lag.pending} testId="stat-lag" tone={lag.caughtUp ? 'ok' : lag.level} />
    </div>
  );
}

/** Whether accepted spans all ended up somewhere: checked-through time, and the minutes that do not add up. */
export function Reconciliation({ report }: { report: IngestReport }) {
  const view = reconciliationView(report.reconciliation);
  if (view.state === 'unchecked') {
    return (
      <div className="reconciliation reconciliation-unchecked" data-testid="reconciliation" data-state="unchecked">
        <strong>Reconciliation:</strong> not checked yet. A minute is checked once its batches have settled, about a minute after it ends.
      </div>
    );
  }
  if (view.state === 'balanced') {
    return (
      <div className="reconciliation reconciliation-balanced" data-testid="reconciliation" data-state="balanced">
        <strong>Balanced</strong> · every accepted span is stored, dead-lettered or discarded, checked through {formatIso(view.checkedThrough)}
      </div>
    );
  }
  const total = Math.max(report.reconciliation?.flaggedTotal ?? 0, view.flagged.length);
  return (
    <div className="reconciliation reconciliation-flagged" data-testid="reconciliation" data-state="flagged" role="alert">
      <strong>
        {total === 1 ? '1 minute does not add up' : `${total} minutes do not add up`}
        {total > view.flagged.length ? ` (the latest ${view.flagged.length} are listed)` : ''}
      </strong>
      {view.checkedThrough ? <span> · checked through {formatIso(view.checkedThrough)}</span> : null}
      <ul className="flagged-list" data-testid="flagged-minutes">
        {view.flagged.map((f) => (
          <li key={`${f.workspaceId}|${f.minute}`}>
            <span className="mono">{formatIso(f.minute).slice(0, 16)}</span> — {differenceText(f.difference)}{' '}
            <span className="muted small">
              (accepted {formatCount(f.accepted)}, stored {formatCount(f.stored)}, dead-lettered {formatCount(f.deadLettered)}, discarded {formatCount(f.discarded)}{f.firstFlaggedAt ? `; flagged ${formatIso(f.firstFlaggedAt)}` : ''})
            </span>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** Per API key: which service sends what, and which one is being refused. */
export function KeyTable({ report, keyNames }: { report: IngestReport; keyNames: ReadonlyMap<string, string> }) {
  const rows = keyBreakdown(report.series, keyNames);
  if (rows.length === 0) return null;
  return (
    <table className="table" data-testid="key-table">
      <thead>
        <tr>
          <th>API key</th>
          <th className="num">Accepted</th>
          <th className="num">Stored</th>
          <th className="num">Queued</th>
          <th className="num">Rejected</th>
          <th className="num">Dead-lettered</th>
          <th className="num">Discarded</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.keyId ?? ''} data-key-id={r.keyId ?? ''}>
            <td>
              {r.named ? (
                <>
                  {r.label} <span className="muted mono small">{r.keyId}</span>
                </>
              ) : (
                <span className={r.keyId === null ? 'muted' : 'mono'}>{r.label}</span>
              )}
            </td>
            <td className="num">{formatCount(r.accepted)}</td>
            <td className="num">{formatCount(r.stored)}</td>
            <td className="num">{formatCount(r.queued)}</td>
            <td className="num">{formatCount(rejectedTotal(r.rejected))}</td>
            <td className="num">{formatCount(r.deadLettered)}</td>
            <td className="num">{formatCount(r.discarded)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The ledger of one workspace over a range: numbers, reconciliation, chart, keys. */
export function LedgerView(props: { report: IngestReport; range: { from: Date; to: Date }; keyNames: ReadonlyMap<string, string>; formatTime: (t: number) => string }) {
  const { report, range, keyNames, formatTime } = props;
  const quiet = report.totals.accepted === 0 && rejectedTotal(report.totals.rejected) === 0 && report.series.length === 0;
  return (
    <>
      <LedgerStats report={report} />
      <Reconciliation report={report} />
      {quiet ? (
        <Empty title="Nothing sent in this range">Spans sent to this workspace with one of its ingest keys are counted here as the collector accepts them.</Empty>
      ) : (
        <>
          <LedgerChart rows={minuteRows(report.series, range)} formatTime={formatTime} />
          <h2>By API key</h2>
          <KeyTable report={report} keyNames={keyNames} />
        </>
      )}
    </>
  );
}
