import type { DeadLetter } from '../api/types';
import { ConfirmButton } from '../ui/buttons';
import { actionable, type DeadLetterAction } from './dead-letters';

export interface ActionHandlers {
  act(item: DeadLetter, action: DeadLetterAction): Promise<void>;
  busy: ReadonlySet<string>;
  notices: ReadonlyMap<string, { kind: 'ok' | 'error'; text: string }>;
}

/** Replay (at once) and discard (after a confirmation) for an open dead letter, and how the last try went. */
export function DeadLetterActions({ item, handlers }: { item: DeadLetter; handlers: ActionHandlers }) {
  const busy = handlers.busy.has(item.id);
  const notice = handlers.notices.get(item.id);
  return (
    <div className="dl-actions">
      {actionable(item) || busy ? (
        <>
          <button type="button" className="btn btn-primary" disabled={busy || !actionable(item)} onClick={() => void handlers.act(item, 'replay')}>
            {busy ? 'Working…' : 'Replay'}
          </button>
          <ConfirmButton
            label="Discard"
            confirmLabel="Yes, discard"
            question={`Discard ${item.spans} span${item.spans === 1 ? '' : 's'} for good? They will not be stored.`}
            disabled={busy || !actionable(item)}
            onConfirm={() => handlers.act(item, 'discard')}
          />
        </>
      ) : null}
      {notice ? (
        <span className={notice.kind === 'error' ? 'form-error' : 'dl-ok'} role={notice.kind === 'error' ? 'alert' : 'status'} data-testid="dead-letter-notice">
          {notice.text}
        </span>
      ) : null}
    </div>
  );
}
