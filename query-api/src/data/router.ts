import type { Router } from 'express';
import { createRouteRouter } from '../http/router.js';
import type { RouteDeps } from '../http/route.js';
import { analyticsRoutes } from './analytics.js';
import { deadLetterRoutes } from './dead-letters.js';
import { ingestRoutes } from './ingest.js';
import { traceRoutes } from './traces.js';
import { usageRoutes } from './usage.js';

/** The trace, analytics, usage and price routes (issue 4), relative to /api/v1. */
export const DATA_ROUTES = [...traceRoutes, ...analyticsRoutes, ...usageRoutes, ...deadLetterRoutes, ...ingestRoutes];

/**
 * Served with `createRouteRouter`, so they share authentication, scope resolution,
 * authorization (trace:read, analytics:read, usage:read, billing:read, price:update)
 * and /openapi.json with the management routes.
 */
export function createDataRouter(deps: RouteDeps): Router {
  return createRouteRouter(DATA_ROUTES, deps);
}
