import { useCallback, useEffect, useRef, useState } from 'react';

/** A value being loaded: loading (maybe with the previous value), failed, or ready. */
export type Resource<T> =
  | { status: 'loading'; previous?: T }
  | { status: 'error'; error: Error; previous?: T }
  | { status: 'ready'; data: T };

/**
 * Runs `load` when `key` changes (and on `reload()`), aborting the previous run, so a
 * slow answer to an old query never replaces a newer one.
 */
export function useResource<T>(load: (signal: AbortSignal) => Promise<T>, key: string): [Resource<T>, () => void] {
  const [state, setState] = useState<Resource<T>>({ status: 'loading' });
  const [nonce, setNonce] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    const controller = new AbortController();
    setState((s) => ({ status: 'loading', ...(s.status === 'ready' ? { previous: s.data } : s.previous !== undefined ? { previous: s.previous } : {}) }));
    loadRef.current(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setState({ status: 'ready', data });
      },
      (error: unknown) => {
        if (controller.signal.aborted) return;
        setState((s) => ({
          status: 'error',
          error: error instanceof Error ? error : new Error(String(error)),
          ...(s.status === 'loading' && s.previous !== undefined ? { previous: s.previous } : {}),
        }));
      },
    );
    return () => controller.abort();
  }, [key, nonce]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return [state, reload];
}

/** The data of a resource, or what it had before the current load. */
export function dataOf<T>(r: Resource<T>): T | undefined {
  return r.status === 'ready' ? r.data : r.previous;
}
