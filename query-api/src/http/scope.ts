import { lookupWorkspace } from '@canopy/core';
import { QueryError } from '../errors.js';
import { subjectOf, type Principal } from '../auth/principal.js';
import type { RouteDeps, ScopeRef } from './route.js';

export type Resolved = { orgId: string; workspaceId?: string } | Record<string, never>;

/**
 * Whether the principal may know that the organization exists: a user holding any org
 * role there (every org role grants `org:read`), or a key of that org. Everyone else gets
 * 404 for anything in it, exactly as for an organization that does not exist.
 */
function knowsOrg(deps: RouteDeps, principal: Principal, orgId: string): boolean {
  if (principal.type === 'api_key') return principal.orgId === orgId;
  return deps.policy.authorize(subjectOf(principal), { orgId }, 'org:read').allowed;
}

/** The path parameter that carried `id`, so a 404 can name it. */
function paramHolding(params: Record<string, string>, id: string): string | undefined {
  return Object.keys(params).find((name) => params[name] === id);
}

/**
 * Turns the ids of a route's path into a scope the policy can judge: a workspace is
 * looked up with its organization. Unknown ids, a workspace of another organization than
 * the path names, and any organization the principal has no part in are all the same 404.
 */
export async function resolveScope(deps: RouteDeps, request: { principal: Principal; ref: ScopeRef; params: Record<string, string> }): Promise<Resolved> {
  const { principal, ref, params } = request;
  const workspaceId = 'workspaceId' in ref ? ref.workspaceId : undefined;
  const named = 'orgId' in ref ? ref.orgId : undefined;
  if (workspaceId === undefined && named === undefined) return {};
  const notFound = (what: 'organization' | 'workspace', id: string): QueryError => {
    const field = paramHolding(params, id);
    return new QueryError('not_found', `${what} not found`, field === undefined ? {} : { field });
  };
  if (workspaceId === undefined) {
    if (!knowsOrg(deps, principal, named!)) throw notFound('organization', named!);
    return { orgId: named! };
  }
  const ws = await lookupWorkspace(deps.pg, workspaceId);
  if (!ws || (named !== undefined && ws.orgId !== named) || !knowsOrg(deps, principal, ws.orgId)) throw notFound('workspace', workspaceId);
  return { orgId: ws.orgId, workspaceId };
}
