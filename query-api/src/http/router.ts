import { Router, type Request, type Response } from 'express';
import type { Action, Scope } from '@canopy/policies';
import { createAuthenticator } from '../auth/authenticate.js';
import { actorOf, subjectOf, type Principal } from '../auth/principal.js';
import { QueryError } from '../errors.js';
import { FileBody, type Route, type RouteContext, type RouteDeps, type ScopeRef } from './route.js';
import { resolveScope, type Resolved } from './scope.js';
import { parseRequestPart } from './validate.js';

/** The routes each router was built from, for the OpenAPI document (see `routesOf`). */
const ROUTES = new WeakMap<Router, readonly Route[]>();

/** The routes a router made by `createRouteRouter` serves; [] for any other router. */
export function routesOf(router: Router): readonly Route[] {
  return ROUTES.get(router) ?? [];
}

function forbidden(action: Action): QueryError {
  return new QueryError('forbidden', `not allowed: ${action}`);
}

function contextFor(deps: RouteDeps, request: { principal: Principal; scope: Resolved; ip: string | undefined }): RouteContext<ScopeRef> {
  const { principal, scope } = request;
  const subject = subjectOf(principal);
  const can = (action: Action, where?: Scope): boolean => {
    const target = where ?? ('orgId' in scope ? (scope as Scope) : undefined);
    return target !== undefined && deps.policy.authorize(subject, target, action).allowed;
  };
  return {
    principal,
    actor: actorOf(principal, request.ip),
    scope: scope as RouteContext<ScopeRef>['scope'],
    deps,
    can,
    ensure(action, where) {
      if (!can(action, where)) throw forbidden(action);
    },
  };
}

function send(res: Response, route: Route, result: unknown): void {
  if (result instanceof FileBody) {
    const { contentType, filename, headers } = result.options;
    res.status(route.status === 204 ? 200 : route.status).type(contentType).attachment(filename);
    for (const [name, value] of Object.entries(headers ?? {})) res.setHeader(name, value);
    res.send(result.body);
    return;
  }
  if (route.status === 204) {
    res.status(204).end();
    return;
  }
  res.status(route.status).json(result);
}

/**
 * An Express router serving `routes` (paths relative to where it is mounted). Every
 * request: authenticate → resolve scope → authorize → parse → handler → send. Express 5
 * hands a rejected handler to the error middleware, so nothing here catches.
 */
export function createRouteRouter(routes: readonly Route[], deps: RouteDeps): Router {
  const router = Router();
  const authenticate = createAuthenticator(deps);
  const seen = new Set<string>();
  for (const route of routes) {
    const key = `${route.method} ${route.path}`;
    if (seen.has(key)) throw new Error(`route ${key} is defined twice`);
    seen.add(key);
    router[route.method](route.path, async (req: Request, res: Response) => {
      const principal = await authenticate(req.get('authorization'));
      if (route.principal === 'user' && principal.type !== 'user') {
        throw new QueryError('forbidden', 'this route is for people (a personal access token), not API keys');
      }
      const rawParams = req.params as Record<string, string>;
      const scope = await resolveScope(deps, { principal, ref: route.scope(rawParams), params: rawParams });
      const ctx = contextFor(deps, { principal, scope, ip: req.ip });
      if (route.action !== null) ctx.ensure(route.action);
      const input = {
        params: route.params ? parseRequestPart(route.params, rawParams, 'params') : rawParams,
        query: route.query ? parseRequestPart(route.query, req.query, 'query') : {},
        body: route.body ? parseRequestPart(route.body, req.body ?? {}, 'body') : undefined,
      };
      send(res, route, await route.handler(ctx, input));
    });
  }
  ROUTES.set(router, routes);
  return router;
}
