import type { z } from 'zod';
import type { Actor, ClickHouse, KeyCache, Logger, PgPool, RedisClient } from '@canopy/core';
import type { Action, PolicyEngine, Scope } from '@canopy/policies';
import type { Principal, UserPrincipal } from '../auth/principal.js';

/**
 * The one way to define a query API route: a description (method, path, schemas, the
 * action it needs and where) that is both served by `createRouteRouter` and documented
 * in /openapi.json. A request runs
 *   authenticate → resolve scope → authorize → parse params/query/body → handler → send,
 * so a caller that may not act learns nothing from validation errors.
 */

/** What route handlers and the request pipeline are handed; built in main.ts. */
export interface RouteDeps {
  pg: PgPool;
  clickhouse: ClickHouse;
  policy: Pick<PolicyEngine, 'authorize' | 'reload'>;
  keys: Pick<KeyCache, 'resolve'>;
  log: Logger;
  /**
   * The span queue's Redis (one `createRedis(url)` connection). Optional: only routes that
   * put work on the queue (dead-letter replay) need it, and they answer 503 without it;
   * /readyz does not depend on it.
   */
  redis?: RedisClient;
  /** CANOPY_QUEUE_PREFIX, the span queue's key prefix; default 'canopy' */
  queuePrefix?: string;
  /** CANOPY_JOB_ATTEMPTS: the attempts a replayed batch gets, like a fresh one; default 40 */
  jobAttempts?: number;
}

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** `/orgs/:org/members/:userId` → `'org' | 'userId'`. */
export type PathParamNames<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? Name | PathParamNames<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? Name
    : never;

/** `/orgs/:org/members/:userId` → `{ org: string; userId: string }`. */
export type PathParams<P extends string> = { [K in PathParamNames<P>]: string };

/** Where a request acts, named by ids from its path: an organization, or a workspace (its org is looked up). */
export type ScopeRef = { orgId: string; workspaceId?: string } | { workspaceId: string } | Record<string, never>;

/** The scope after resolution: a workspace always comes with the organization it belongs to. */
export type ResolvedScope<S> = S extends { workspaceId: string } ? { orgId: string; workspaceId: string } : S extends { orgId: string } ? { orgId: string } : Record<string, never>;

export interface RouteContext<S = Record<string, never>, P extends Principal = Principal> {
  principal: P;
  /** the principal as the audit log records it, with the request's source IP */
  actor: Actor;
  scope: ResolvedScope<S>;
  deps: RouteDeps;
  /** Whether the principal may do `action` (in `scope`, by default the route's). */
  can(action: Action, scope?: Scope): boolean;
  /** Throws `forbidden` unless the principal may do `action` (in `scope`, by default the route's). */
  ensure(action: Action, scope?: Scope): void;
}

/** A handler result sent as a file (CSV exports) instead of JSON. */
export class FileBody {
  constructor(
    readonly body: string,
    readonly options: { contentType: string; filename: string; headers?: Record<string, string> },
  ) {}
}

export function download(body: string, options: FileBody['options']): FileBody {
  return new FileBody(body, options);
}

type Out<T, Fallback> = T extends z.ZodType ? z.output<T> : Fallback;
type Result<R> = R extends z.ZodType ? z.input<R> : void;
type Who<K> = K extends 'user' ? UserPrincipal : Principal;

export interface RouteSpec<
  P extends string,
  PS extends z.ZodType | undefined,
  Q extends z.ZodType | undefined,
  B extends z.ZodType | undefined,
  R extends z.ZodType | undefined,
  S extends ScopeRef,
  K extends 'any' | 'user',
> {
  method: HttpMethod;
  /** Express path relative to /api/v1, e.g. `/workspaces/:ws/keys/:id` */
  path: P;
  summary: string;
  description?: string;
  tags: readonly string[];
  /** validates (and may transform) the path parameters; without it they are strings */
  params?: PS;
  query?: Q;
  body?: B;
  /** the JSON response; omit only with status 204 */
  response?: R;
  status?: 200 | 201 | 202 | 204;
  /** content types the route may answer with instead of JSON (a FileBody result), e.g. text/csv */
  alsoProduces?: readonly string[];
  /** what the principal must be allowed in the scope; null: any authenticated principal */
  action: Action | null;
  /** 'user': API keys are refused (403), e.g. for /me */
  principal?: K;
  /** the organization or workspace the request is about, from the path; required when `action` is set */
  scope?: (params: NoInfer<PathParams<P>>) => S;
  handler: (
    ctx: RouteContext<S, Who<K>>,
    input: { params: Out<PS, NoInfer<PathParams<P>>>; query: Out<Q, Record<string, never>>; body: Out<B, undefined> },
  ) => Promise<Result<R> | FileBody>;
}

/** A defined route with its types erased, as routers and the OpenAPI builder take it. */
export interface Route {
  method: HttpMethod;
  path: string;
  summary: string;
  description?: string;
  tags: readonly string[];
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  response?: z.ZodType;
  status: 200 | 201 | 202 | 204;
  alsoProduces: readonly string[];
  action: Action | null;
  principal: 'any' | 'user';
  scope: (params: Record<string, string>) => ScopeRef;
  handler: (ctx: RouteContext<ScopeRef>, input: { params: unknown; query: unknown; body: unknown }) => Promise<unknown>;
}

export function defineRoute<
  const P extends string,
  S extends ScopeRef = Record<string, never>,
  K extends 'any' | 'user' = 'any',
  PS extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
  R extends z.ZodType | undefined = undefined,
>(spec: RouteSpec<P, PS, Q, B, R, S, K>): Route {
  const status = spec.status ?? 200;
  const where = `${spec.method.toUpperCase()} ${spec.path}`;
  if ((status === 204) !== (spec.response === undefined)) throw new Error(`${where}: give a response schema, or status 204 without one`);
  if (spec.action !== null && spec.scope === undefined) throw new Error(`${where}: an action needs a scope to be checked in`);
  return {
    method: spec.method,
    path: spec.path,
    summary: spec.summary,
    ...(spec.description === undefined ? {} : { description: spec.description }),
    tags: spec.tags,
    ...(spec.params ? { params: spec.params } : {}),
    ...(spec.query ? { query: spec.query } : {}),
    ...(spec.body ? { body: spec.body } : {}),
    ...(spec.response ? { response: spec.response } : {}),
    status,
    alsoProduces: spec.alsoProduces ?? [],
    action: spec.action,
    principal: spec.principal ?? 'any',
    scope: (spec.scope as ((params: Record<string, string>) => ScopeRef) | undefined) ?? (() => ({})),
    handler: spec.handler as unknown as Route['handler'],
  };
}
