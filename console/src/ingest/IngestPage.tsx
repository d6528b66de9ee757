import { useMemo, useState } from 'react';
import type { ApiKey, IngestReport } from '../api/types';
import { timeTickFormatter } from '../analytics/series';
import { can } from '../permissions/access';
import { navigate } from '../routing/use-location';
import { useOrg, useSession } from '../shell/contexts';
import { formatTimestamp } from '../time/format';
import { DEFAULT_RANGE, resolveRange, type TimeRangeText } from '../time/range';
import { TimeRangePicker } from '../time/TimeRangePicker';
import { ErrorState, Loading } from '../ui/states';
import { useResource } from '../ui/use-resource';
import { ingestAbilities } from './abilities';
import { filterFromQuery } from './dead-letters';
import { DeadLetters } from './DeadLetters';
import { INGEST_MAX_DAYS, REFRESH_MS } from './ledger';
import { LedgerView } from './LedgerView';
import { useAutoRefresh } from './use-auto-refresh';
import './ingest.css';

type Tab = 'ledger' | 'dead-letters';

/** A workspace's ingest ledger (accepted vs stored, lag, reconciliation, keys) and, for admins, its dead letters. */
export function IngestPage({ workspaceId, query }: { workspaceId: string; query: URLSearchParams }) {
  const { api } = useSession();
  const { org, access, workspace } = useOrg();
  const abilities = ingestAbilities(access, workspaceId);
  const tab: Tab = abilities.manageDeadLetters && query.get('tab') === 'dead-letters' ? 'dead-letters' : 'ledger';
  const range: TimeRangeText = { from: query.get('from') || DEFAULT_RANGE.from, to: query.get('to') || DEFAULT_RANGE.to };
  const [auto, setAuto] = useState(true);
  const [manual, setManual] = useState(0);
  const tick = useAutoRefresh(REFRESH_MS, auto && tab === 'ledger');
  const key = `${workspaceId}|${range.from}|${range.to}|${tick}|${manual}`;
  const now = useMemo(() => new Date(), [key]);
  const resolved = resolveRange(range, now, INGEST_MAX_DAYS);
  const ws = encodeURIComponent(workspaceId);

  const set = (patch: Record<string, string | null>): void => {
    const q = new URLSearchParams(query);
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) q.delete(k);
      else q.set(k, v);
    }
    navigate({ page: 'ingest', orgId: org.id, workspaceId }, q);
  };

  const [report, reload] = useResource<IngestReport | null>(
    (signal) =>
      resolved.ok
        ? api.get<IngestReport>(`/workspaces/${ws}/ingest`, { from: resolved.range.from.toISOString(), to: resolved.range.to.toISOString(), groupBy: 'key' }, { signal })
        : Promise.resolve(null),
    key,
  );
  // Key names for the per-key table, where the role may read the key list.
  const mayReadKeys = can(access, 'key:read', workspaceId);
  const [keys] = useResource<ApiKey[]>((signal) => (mayReadKeys ? api.get<{ keys: ApiKey[] }>(`/workspaces/${ws}/keys`, undefined, { signal }).then((r) => r.keys, () => []) : Promise.resolve([])), `${workspaceId}|${mayReadKeys}`);
  const keyNames = useMemo(() => new Map((keys.status === 'ready' ? keys.data : []).map((k) => [k.id, k.name])), [keys]);

  // Refreshes keep the last answer on screen (no flicker every 10 s); an error shows above it.
  const shown = report.status === 'ready' ? report.data : report.previous;
  const formatTime = timeTickFormatter(resolved.ok ? resolved.range.to.getTime() - resolved.range.from.getTime() : 3_600_000);

  return (
    <section className="page ingest-page" aria-labelledby="ingest-title">
      <div className="page-head">
        <h1 id="ingest-title">Ingest · {workspace?.slug}</h1>
        <div className="page-actions">
          {tab === 'ledger' ? (
            <>
              <label className="check small" title={`Reload every ${REFRESH_MS / 1000} s while this tab is visible`}>
                <input type="checkbox" checked={auto} onChange={(e) => setAuto(e.target.checked)} />
                Auto-refresh
              </label>
              <TimeRangePicker value={range} maxDays={INGEST_MAX_DAYS} onChange={(r) => set({ from: r.from, to: r.to })} />
              <button type="button" className="btn" onClick={() => setManual((m) => m + 1)}>
                Refresh
              </button>
            </>
          ) : null}
        </div>
      </div>
      {abilities.manageDeadLetters ? (
        <div className="tabs" role="tablist" aria-label="Ingest views">
          <button type="button" role="tab" aria-selected={tab === 'ledger'} className={tab === 'ledger' ? 'tab active' : 'tab'} onClick={() => set({ tab: null, dl: null })}>
            Ledger
          </button>
          <button type="button" role="tab" aria-selected={tab === 'dead-letters'} className={tab === 'dead-letters' ? 'tab active' : 'tab'} onClick={() => set({ tab: 'dead-letters' })}>
            Dead letters
          </button>
        </div>
      ) : null}
      {tab === 'dead-letters' ? (
        <DeadLetters
          workspaceId={workspaceId}
          filter={filterFromQuery(query)}
          selectedId={query.get('dl')}
          onFilter={(f) => set({ status: f, dl: null })}
          onSelect={(id) => set({ dl: id })}
        />
      ) : !resolved.ok ? (
        <div className="form-error" role="alert">
          {resolved.error}
        </div>
      ) : (
        <>
          {report.status === 'error' ? <ErrorState error={report.error} onRetry={reload} /> : null}
          {shown ? (
            <>
              <div className="muted small ingest-updated" data-testid="ingest-updated">
                {report.status === 'loading' ? 'Updating…' : `Updated ${formatTimestamp(now).slice(11, 19)}`}
                {auto ? ` · refreshes every ${REFRESH_MS / 1000} s` : ''}
              </div>
              <LedgerView report={shown} range={resolved.range} keyNames={keyNames} formatTime={formatTime} />
            </>
          ) : report.status === 'loading' ? (
            <Loading label="Loading the ingest ledger…" />
          ) : null}
        </>
      )}
    </section>
  );
}
