import type { RequestHandler } from 'express';

/** `*`, or the exact origins (`https://app.example.com`) browsers may send spans from. */
export type CorsOrigins = '*' | readonly string[];

const ALLOW_METHODS = 'POST, OPTIONS';
const ALLOW_HEADERS = 'Content-Type, Authorization, X-API-Key, Content-Encoding';
const MAX_AGE_SECONDS = '86400';

/**
 * CORS for browser exporters on /v1/traces: allowed origins get
 * `Access-Control-Allow-Origin` on every answer (errors too, so a browser can read a 429
 * or 503 and its Retry-After), and a preflight `OPTIONS` is answered 204 with the
 * methods and headers an OTLP exporter sends. Mounted only when origins are configured.
 */
export function corsMiddleware(origins: CorsOrigins): RequestHandler {
  const any = origins === '*';
  const allowed = new Set(any ? [] : origins.map((o) => o.toLowerCase()));
  return (req, res, next) => {
    const origin = req.headers.origin;
    const ok = origin !== undefined && (any || allowed.has(origin.toLowerCase()));
    if (!any) res.setHeader('Vary', 'Origin');
    if (ok) {
      res.setHeader('Access-Control-Allow-Origin', any ? '*' : origin);
      res.setHeader('Access-Control-Expose-Headers', 'Retry-After');
    }
    if (req.method !== 'OPTIONS') return next();
    if (ok) {
      res.setHeader('Access-Control-Allow-Methods', ALLOW_METHODS);
      res.setHeader('Access-Control-Allow-Headers', ALLOW_HEADERS);
      res.setHeader('Access-Control-Max-Age', MAX_AGE_SECONDS);
    }
    // A preflight from an origin not allowed gets no Allow-* headers: the browser stops there.
    res.setHeader('Allow', ALLOW_METHODS);
    res.statusCode = 204;
    res.end();
  };
}
