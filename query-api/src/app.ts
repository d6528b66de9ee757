import express, { type Express } from 'express';
import type { Logger } from '@canopy/core';
import { errorMiddleware, QueryError } from './errors.js';
import { healthRoutes, type HealthDeps } from './health.js';

export interface QueryApiDeps extends HealthDeps {
  log: Logger;
}

export interface QueryApiOptions {
  /** how long /readyz waits for each dependency before calling it down */
  readinessTimeoutMs?: number;
}

/** Builds the query API; the caller owns listening and the lifetime of `deps`. */
export function createQueryApi(deps: QueryApiDeps, options: QueryApiOptions = {}): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(healthRoutes(deps, { timeoutMs: options.readinessTimeoutMs ?? 2_000 }));
  app.use((req, _res, next) => {
    next(new QueryError('not_found', `no route for ${req.method} ${req.path}`));
  });
  app.use(errorMiddleware(deps.log));
  return app;
}
