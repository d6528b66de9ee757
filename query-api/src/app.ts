import fs from 'node:fs';
import path from 'node:path';
import express, { type Express } from 'express';
import helmet from 'helmet';
import { createDataRouter } from './data/router.js';
import { errorMiddleware, QueryError } from './errors.js';
import { healthRoutes } from './health.js';
import { buildOpenApiDocument } from './http/openapi.js';
import type { RouteDeps } from './http/route.js';
import { routesOf } from './http/router.js';
import { createManagementRouter } from './management/router.js';

export type QueryApiDeps = RouteDeps;

export interface QueryApiOptions {
  /** how long /readyz waits for each dependency before calling it down */
  readinessTimeoutMs?: number;
  /**
   * Express's `trust proxy` setting, which decides the source IP the audit log records.
   * Default false: the address of the connecting socket. Behind a load balancer, name its
   * hops or addresses (e.g. 1, 'loopback', '10.0.0.0/8') so X-Forwarded-For is believed.
   */
  trustProxy?: boolean | number | string;
  /** largest JSON request body */
  maxBodyBytes?: number;
  /** the built web console (console/dist), served at `/` when it exists */
  consoleDir?: string;
}

export const API_BASE_PATH = '/api/v1';

/** Builds the query API; the caller owns listening and the lifetime of `deps`. */
export function createQueryApi(deps: QueryApiDeps, options: QueryApiOptions = {}): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', options.trustProxy ?? false);
  // Security headers for the API and the console it serves. The console's charts set inline
  // styles and data: images, so the policy allows exactly those; nothing is loaded from elsewhere.
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: true,
        directives: { 'img-src': ["'self'", 'data:'], 'style-src': ["'self'", "'unsafe-inline'"], 'connect-src': ["'self'"] },
      },
      crossOriginEmbedderPolicy: false,
      strictTransportSecurity: false,
    }),
  );
  app.use(healthRoutes(deps, { timeoutMs: options.readinessTimeoutMs ?? 2_000 }));

  const routers = [createManagementRouter(deps), createDataRouter(deps)];
  const document = buildOpenApiDocument(routers.flatMap(routesOf), { basePath: API_BASE_PATH, title: 'Canopy query API', version: '1' });
  app.get('/openapi.json', (_req, res) => {
    res.json(document);
  });
  app.use(API_BASE_PATH, express.json({ limit: options.maxBodyBytes ?? 1024 * 1024 }), ...routers);
  if (options.consoleDir && fs.existsSync(path.join(options.consoleDir, 'index.html'))) {
    // Hashed asset names never change; index.html must always be re-checked.
    app.use(
      express.static(options.consoleDir, {
        index: 'index.html',
        setHeaders: (res, file) => res.setHeader('Cache-Control', file.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable'),
      }),
    );
  }

  app.use((req, _res, next) => {
    next(new QueryError('not_found', `no route for ${req.method} ${req.path}`));
  });
  app.use(errorMiddleware(deps.log));
  return app;
}
