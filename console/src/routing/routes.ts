/**
 * Where the person is, as the URL says it (hash routing: `#/orgs/<org>/workspaces/<ws>/traces?...`),
 * so a link can be shared. Pure: parse and format, no DOM.
 */

export type Route =
  | { page: 'signin' }
  | { page: 'home' }
  | { page: 'org'; orgId: string }
  | { page: 'traces'; orgId: string; workspaceId: string }
  | { page: 'trace'; orgId: string; workspaceId: string; traceId: string }
  | { page: 'analytics'; orgId: string; workspaceId: string }
  | { page: 'ingest'; orgId: string; workspaceId: string }
  | { page: 'keys'; orgId: string; workspaceId: string }
  | { page: 'usage'; orgId: string }
  | { page: 'org-ingest'; orgId: string }
  | { page: 'workspaces'; orgId: string }
  | { page: 'members'; orgId: string }
  | { page: 'audit'; orgId: string }
  | { page: 'not-found'; path: string };

export type WorkspacePage = 'traces' | 'analytics' | 'ingest' | 'keys';
export type OrgPage = 'usage' | 'workspaces' | 'members' | 'audit';

export interface Location {
  route: Route;
  query: URLSearchParams;
}

const seg = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};
const enc = encodeURIComponent;

/** `#/orgs/o1/usage?from=now-7d` → `{ route: { page: 'usage', orgId: 'o1' }, query }`. */
export function parseHash(hash: string): Location {
  const raw = hash.replace(/^#/, '');
  const q = raw.indexOf('?');
  const path = q >= 0 ? raw.slice(0, q) : raw;
  const query = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : '');
  const parts = path.split('/').filter(Boolean).map(seg);
  return { route: matchParts(parts, path), query };
}

function matchParts(parts: string[], path: string): Route {
  const [a, org, b, ws, c, d, ...rest] = parts;
  if (parts.length === 0) return { page: 'home' };
  if (a === 'signin' && parts.length === 1) return { page: 'signin' };
  if (a !== 'orgs' || org === undefined) return { page: 'not-found', path };
  if (b === undefined) return { page: 'org', orgId: org };
  if (parts.length === 3 && (b === 'usage')) return { page: 'usage', orgId: org };
  if (parts.length === 3 && b === 'ingest') return { page: 'org-ingest', orgId: org };
  if (b === 'settings' && parts.length === 4) {
    if (ws === 'workspaces' || ws === 'members' || ws === 'audit') return { page: ws, orgId: org };
  }
  if (b === 'workspaces' && ws !== undefined && rest.length === 0) {
    if (c === 'traces' && d === undefined) return { page: 'traces', orgId: org, workspaceId: ws };
    if (c === 'traces' && d !== undefined) return { page: 'trace', orgId: org, workspaceId: ws, traceId: d };
    if (c === 'analytics' && d === undefined) return { page: 'analytics', orgId: org, workspaceId: ws };
    if (c === 'ingest' && d === undefined) return { page: 'ingest', orgId: org, workspaceId: ws };
    if (c === 'keys' && d === undefined) return { page: 'keys', orgId: org, workspaceId: ws };
    if (c === undefined) return { page: 'traces', orgId: org, workspaceId: ws };
  }
  return { page: 'not-found', path };
}

/** The hash for a route (and optional query), e.g. `#/orgs/o1/workspaces/w1/traces?status=error`. */
export function formatHash(route: Route, query?: URLSearchParams | string): string {
  const qs = query === undefined ? '' : typeof query === 'string' ? query : query.toString();
  return `#${routePath(route)}${qs ? `?${qs}` : ''}`;
}

function routePath(route: Route): string {
  switch (route.page) {
    case 'signin':
      return '/signin';
    case 'home':
      return '/';
    case 'org':
      return `/orgs/${enc(route.orgId)}`;
    case 'traces':
    case 'analytics':
    case 'ingest':
    case 'keys':
      return `/orgs/${enc(route.orgId)}/workspaces/${enc(route.workspaceId)}/${route.page}`;
    case 'trace':
      return `/orgs/${enc(route.orgId)}/workspaces/${enc(route.workspaceId)}/traces/${enc(route.traceId)}`;
    case 'usage':
      return `/orgs/${enc(route.orgId)}/usage`;
    case 'org-ingest':
      return `/orgs/${enc(route.orgId)}/ingest`;
    case 'workspaces':
    case 'members':
    case 'audit':
      return `/orgs/${enc(route.orgId)}/settings/${route.page}`;
    case 'not-found':
      return route.path;
  }
}

/** The org a route is in, if any. */
export function routeOrg(route: Route): string | undefined {
  return 'orgId' in route ? route.orgId : undefined;
}

/** The workspace a route is in, if any. */
export function routeWorkspace(route: Route): string | undefined {
  return 'workspaceId' in route ? route.workspaceId : undefined;
}
