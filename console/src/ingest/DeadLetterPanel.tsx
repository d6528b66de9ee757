import { useEffect } from 'react';
import type { DeadLetter, DeadLetterDetail } from '../api/types';
import { useSession } from '../shell/contexts';
import { formatBytes, formatCount, formatIso } from '../time/format';
import { ResourceView } from '../ui/states';
import { useResource } from '../ui/use-resource';
import { formatRows } from './dead-letters';
import { DeadLetterActions, type ActionHandlers } from './DeadLetterActions';

/**
 * One dead letter inspected: why storage refused it, where it came from, and its first rows
 * as JSON. The list's copy of the item (kept current by optimistic updates) wins over the
 * fetched one for the status.
 */
export function DeadLetterPanel(props: { base: string; item: DeadLetter | undefined; id: string; handlers: ActionHandlers; onClose: () => void }) {
  const { api } = useSession();
  const { base, id, handlers, onClose } = props;
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (e.key === 'Escape') onClose();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [onClose]);
  const [detail, reload] = useResource((signal) => api.get<DeadLetterDetail>(`${base}/${encodeURIComponent(id)}`, undefined, { signal }), `${base}|${id}`);

  return (
    <aside className="dl-panel" aria-label="Dead letter" data-testid="dead-letter-panel">
      <div className="dl-panel-head">
        <strong>Dead letter</strong>
        <button type="button" className="btn btn-quiet" onClick={onClose} aria-label="Close">
          ✕
        </button>
      </div>
      <ResourceView resource={detail} onRetry={reload} loadingLabel="Loading the dead letter…">
        {(d) => {
          const item: DeadLetter = { ...d, ...(props.item ?? {}) };
          return (
            <>
              <div className="dl-error" data-testid="dead-letter-error">
                <span className="badge badge-error">{item.error.code}</span>
                <div>{item.error.message}</div>
              </div>
              <dl className="kv">
                <dt>Status</dt>
                <dd>
                  <span className={`badge dl-status-${item.status}`}>{item.status}</span>
                </dd>
                <dt>Batch</dt>
                <dd className="mono">{item.batchId}</dd>
                <dt>API key</dt>
                <dd className="mono">{item.keyId ?? '—'}</dd>
                <dt>Received</dt>
                <dd>{formatIso(item.receivedAt)}</dd>
                <dt>Dead-lettered</dt>
                <dd>{formatIso(item.deadLetteredAt)}</dd>
                <dt>Updated</dt>
                <dd>{formatIso(item.updatedAt)}</dd>
                <dt>Spans</dt>
                <dd>
                  {formatCount(item.spans)} · {formatBytes(item.bytes)}
                </dd>
                <dt>Attempts</dt>
                <dd>
                  {formatCount(item.attempts)} · replayed {formatCount(item.replayCount)}×
                </dd>
              </dl>
              <DeadLetterActions item={item} handlers={handlers} />
              <h3 className="dl-rows-title">
                First rows <span className="muted small">({formatCount(d.firstRows.length)} of {formatCount(d.rowCount)})</span>
              </h3>
              <pre className="dl-rows" data-testid="dead-letter-rows">
                {formatRows(d.firstRows)}
              </pre>
            </>
          );
        }}
      </ResourceView>
    </aside>
  );
}
