import { useEffect, useSyncExternalStore } from 'react';
import { formatHash, parseHash, type Location, type Route } from './routes';

function subscribe(onChange: () => void): () => void {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
}

let cachedHash: string | null = null;
let cachedLocation: Location = parseHash('');

function snapshot(): Location {
  const hash = window.location.hash;
  if (hash !== cachedHash) {
    cachedHash = hash;
    cachedLocation = parseHash(hash);
  }
  return cachedLocation;
}

/** The current route and query, re-rendering on every hash change. */
export function useLocation(): Location {
  return useSyncExternalStore(subscribe, snapshot);
}

/** Goes to a route (a new history entry, or replacing the current one). */
export function navigate(route: Route, query?: URLSearchParams | string, options: { replace?: boolean } = {}): void {
  const hash = formatHash(route, query);
  if (hash === window.location.hash) return;
  if (options.replace) window.location.replace(hash);
  else window.location.hash = hash;
}

/** Replaces the current URL with `route` once rendered (navigation is a side effect, not part of rendering). */
export function Redirect({ to, query }: { to: Route; query?: URLSearchParams | string }): null {
  const hash = formatHash(to, query);
  useEffect(() => {
    if (window.location.hash !== hash) window.location.replace(hash);
  }, [hash]);
  return null;
}
