import { useCallback, useEffect, useMemo, useState } from 'react';
import { ApiError, type ApiClient } from '../api/client';
import type { DeadLetter, DeadLetterPage } from '../api/types';
import { actionErrorMessage, mergePage, STATUS_AFTER, withItem, type DeadLetterAction, type DeadLetterFilter } from './dead-letters';
import type { ActionHandlers } from './DeadLetterActions';

const PAGE_SIZE = 50;

export type DeadLetterList =
  | { status: 'loading' }
  | { status: 'error'; error: Error }
  | { status: 'ready'; items: DeadLetter[]; nextCursor: string | null; loadingMore: boolean; moreError: string | null };

/**
 * A workspace's dead letters under one status filter, page by page, with replay and discard
 * applied to the list at once and put right when the API says otherwise.
 */
export function useDeadLetters(api: ApiClient, base: string, filter: DeadLetterFilter): { list: DeadLetterList; loadMore: () => void; reload: () => void; handlers: ActionHandlers } {
  const [list, setList] = useState<DeadLetterList>({ status: 'loading' });
  const [nonce, setNonce] = useState(0);
  const [busy, setBusy] = useState<ReadonlySet<string>>(new Set());
  const [notices, setNotices] = useState<ReadonlyMap<string, { kind: 'ok' | 'error'; text: string }>>(new Map());

  useEffect(() => {
    const controller = new AbortController();
    setList((l) => (l.status === 'ready' ? { ...l, loadingMore: true } : { status: 'loading' }));
    api.get<DeadLetterPage>(base, { status: filter, limit: PAGE_SIZE }, { signal: controller.signal }).then(
      (page) => {
        if (!controller.signal.aborted) setList({ status: 'ready', items: mergePage([], page.deadLetters), nextCursor: page.nextCursor, loadingMore: false, moreError: null });
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setList({ status: 'error', error: error instanceof Error ? error : new Error(String(error)) });
      },
    );
    return () => controller.abort();
  }, [api, base, filter, nonce]);

  const loadMore = useCallback(() => {
    if (list.status !== 'ready' || list.nextCursor === null || list.loadingMore) return;
    const cursor = list.nextCursor;
    setList({ ...list, loadingMore: true, moreError: null });
    api.get<DeadLetterPage>(base, { status: filter, limit: PAGE_SIZE, cursor }).then(
      (page) => setList((l) => (l.status === 'ready' ? { ...l, items: mergePage(l.items, page.deadLetters), nextCursor: page.nextCursor, loadingMore: false } : l)),
      (error: unknown) => setList((l) => (l.status === 'ready' ? { ...l, loadingMore: false, moreError: (error as Error).message } : l)),
    );
  }, [api, base, filter, list]);

  const replaceItem = useCallback((id: string, change: (d: DeadLetter) => DeadLetter) => {
    setList((l) => (l.status === 'ready' ? { ...l, items: withItem(l.items, id, change) } : l));
  }, []);

  const act = useCallback(
    async (item: DeadLetter, action: DeadLetterAction): Promise<void> => {
      const path = `${base}/${encodeURIComponent(item.id)}`;
      setBusy((b) => new Set(b).add(item.id));
      setNotices((n) => new Map([...n].filter(([id]) => id !== item.id)));
      replaceItem(item.id, (d) => ({ ...d, status: STATUS_AFTER[action] }));
      try {
        const updated = action === 'replay' ? await api.send<DeadLetter>('POST', `${path}/replay`) : await api.send<DeadLetter>('DELETE', path);
        replaceItem(item.id, (d) => ({ ...d, ...updated }));
        setNotices((n) => new Map(n).set(item.id, { kind: 'ok', text: action === 'replay' ? 'Replayed: the batch is queued again.' : 'Discarded.' }));
      } catch (error) {
        replaceItem(item.id, () => item);
        setNotices((n) => new Map(n).set(item.id, { kind: 'error', text: actionErrorMessage(error, action) }));
        // Someone else got there first: show what the dead letter is now.
        if (error instanceof ApiError && error.status === 409) {
          await api.get<DeadLetter>(path).then(
            (fresh) => replaceItem(item.id, (d) => ({ ...d, ...fresh })),
            () => undefined,
          );
        }
      } finally {
        setBusy((b) => {
          const next = new Set(b);
          next.delete(item.id);
          return next;
        });
      }
    },
    [api, base, replaceItem],
  );

  const reload = useCallback(() => setNonce((x) => x + 1), []);
  const handlers = useMemo<ActionHandlers>(() => ({ act, busy, notices }), [act, busy, notices]);
  return { list, loadMore, reload, handlers };
}
