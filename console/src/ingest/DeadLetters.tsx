import type { DeadLetter } from '../api/types';
import { useSession } from '../shell/contexts';
import { formatBytes, formatCount, formatIso } from '../time/format';
import { Empty, ErrorState, Loading } from '../ui/states';
import { DEAD_LETTER_FILTERS, type DeadLetterFilter } from './dead-letters';
import { DeadLetterActions, type ActionHandlers } from './DeadLetterActions';
import { DeadLetterPanel } from './DeadLetterPanel';
import { useDeadLetters } from './use-dead-letters';

const EMPTY_TEXT: Readonly<Record<DeadLetterFilter, string>> = {
  open: 'No open dead letters',
  replayed: 'No replayed dead letters',
  discarded: 'No discarded dead letters',
  all: 'No dead letters',
};

function Row({ d, selected, onInspect, handlers }: { d: DeadLetter; selected: boolean; onInspect: () => void; handlers: ActionHandlers }) {
  return (
    <tr className={selected ? 'selected' : undefined} data-dead-letter-id={d.id} data-status={d.status}>
      <td className="nowrap">{formatIso(d.deadLetteredAt)}</td>
      <td className="nowrap muted">{formatIso(d.receivedAt)}</td>
      <td className="dl-error-cell">
        <span className="badge badge-error">{d.error.code}</span> <span title={d.error.message}>{d.error.message}</span>
      </td>
      <td className="num">{formatCount(d.spans)}</td>
      <td className="num nowrap">{formatBytes(d.bytes)}</td>
      <td>
        <span className={`badge dl-status-${d.status}`}>{d.status}</span>
      </td>
      <td>
        <div className="dl-row-actions">
          <button type="button" className="btn" onClick={onInspect} aria-pressed={selected}>
            Inspect
          </button>
          <DeadLetterActions item={d} handlers={handlers} />
        </div>
      </td>
    </tr>
  );
}

/** Batches storage refused for good: filter by status, inspect, replay or discard (workspace admins). */
export function DeadLetters(props: { workspaceId: string; filter: DeadLetterFilter; selectedId: string | null; onFilter: (f: DeadLetterFilter) => void; onSelect: (id: string | null) => void }) {
  const { api } = useSession();
  const { workspaceId, filter, selectedId, onFilter, onSelect } = props;
  const base = `/workspaces/${encodeURIComponent(workspaceId)}/dead-letters`;
  const { list, loadMore, reload, handlers } = useDeadLetters(api, base, filter);
  const items = list.status === 'ready' ? list.items : [];

  return (
    <section aria-labelledby="dead-letters-title" data-testid="dead-letters">
      <div className="section-head">
        <h2 id="dead-letters-title">Dead letters</h2>
        <div className="page-actions">
          <div className="segmented" role="group" aria-label="Status">
            {DEAD_LETTER_FILTERS.map((f) => (
              <button key={f} type="button" className={f === filter ? 'btn active' : 'btn'} aria-pressed={f === filter} onClick={() => onFilter(f)}>
                {f}
              </button>
            ))}
          </div>
          <button type="button" className="btn" onClick={reload}>
            Refresh
          </button>
        </div>
      </div>
      <p className="muted small">
        A batch becomes a dead letter when ClickHouse refuses it for good (after retries). Replay queues it again as it was; discard drops its spans and
        counts them as discarded in the ledger.
      </p>
      {list.status === 'loading' ? (
        <Loading label="Loading dead letters…" />
      ) : list.status === 'error' ? (
        <ErrorState error={list.error} onRetry={reload} />
      ) : items.length === 0 ? (
        <Empty title={EMPTY_TEXT[filter]}>{filter === 'open' ? 'Every accepted batch was stored, or already replayed or discarded.' : 'Try another status.'}</Empty>
      ) : (
        <>
          <table className={list.loadingMore ? 'table dl-table stale' : 'table dl-table'} data-testid="dead-letter-table">
            <thead>
              <tr>
                <th>Dead-lettered</th>
                <th>Received</th>
                <th>Error</th>
                <th className="num">Spans</th>
                <th className="num">Size</th>
                <th>Status</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {items.map((d) => (
                <Row key={d.id} d={d} selected={d.id === selectedId} onInspect={() => onSelect(d.id === selectedId ? null : d.id)} handlers={handlers} />
              ))}
            </tbody>
          </table>
          <div className="pager">
            {list.moreError ? <span className="form-error">{list.moreError}</span> : null}
            {list.nextCursor !== null ? (
              <button type="button" className="btn" disabled={list.loadingMore} onClick={loadMore}>
                {list.loadingMore ? 'Loading…' : 'Load more'}
              </button>
            ) : null}
          </div>
        </>
      )}
      {selectedId !== null ? <DeadLetterPanel base={base} id={selectedId} item={items.find((d) => d.id === selectedId)} handlers={handlers} onClose={() => onSelect(null)} /> : null}
    </section>
  );
}
