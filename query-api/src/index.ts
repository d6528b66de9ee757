export { createQueryApi, API_BASE_PATH, type QueryApiDeps, type QueryApiOptions } from './app.js';
export { QueryError, STATUS_BY_CODE, type QueryErrorCode } from './errors.js';
export {
  defineRoute,
  download,
  FileBody,
  type Route,
  type RouteSpec,
  type RouteContext,
  type RouteDeps,
  type ScopeRef,
  type ResolvedScope,
  type PathParams,
  type HttpMethod,
} from './http/route.js';
export { createRouteRouter, routesOf } from './http/router.js';
export { buildOpenApiDocument, type OpenApiOptions } from './http/openapi.js';
export { createAuthenticator, type AuthenticatorDeps } from './auth/authenticate.js';
export type { Principal, UserPrincipal, ApiKeyPrincipal } from './auth/principal.js';
export { MANAGEMENT_ROUTES, createManagementRouter } from './management/router.js';
