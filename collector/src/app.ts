import express, { type Express } from 'express';
import type { KeyCache, Logger, SpanQueue } from '@canopy/core';
import { IngestError } from './errors.js';
import { exportTracesHandler } from './export.js';
import { createCollectorMetrics, type CollectorMetrics } from './metrics.js';
import { createHttpServer } from './receive/server.js';
import { errorMiddleware } from './respond/errors.js';
import { send, sendText } from './respond/send.js';

/** Everything the collector talks to, built by main.ts (or a test) and passed in. */
export interface CollectorDeps {
  queue: Pick<SpanQueue, 'add'>;
  keys: Pick<KeyCache, 'resolve'>;
  /** the queue's Redis connection (ioredis): `status` gates enqueues, `ping` answers /readyz */
  redis: { readonly status: string; ping(): Promise<unknown> };
  log: Logger;
}

export interface CollectorOptions {
  /** largest body accepted, after decompression */
  maxBodyBytes: number;
  /** BullMQ attempts per batch (default 40) */
  jobAttempts?: number;
  /** longest wait for Redis to take a batch before answering 503 (default 5000) */
  enqueueTimeoutMs?: number;
  /** Retry-After sent with 503 answers, in ms, rounded up to seconds (default 5000) */
  retryAfterMs?: number;
  /** longest wait for Redis PING on /readyz (default 1000) */
  readyTimeoutMs?: number;
  /** how long close() waits for in-flight requests (default 10000) */
  shutdownGraceMs?: number;
  /** longest a single request may take, body included (default 60000) */
  requestTimeoutMs?: number;
}

export interface Collector {
  /** the Express app; mount or wrap it, or use listen() */
  readonly app: Express;
  readonly metrics: CollectorMetrics;
  listen(port: number, host?: string): Promise<{ port: number; host: string }>;
  /** Stops accepting, finishes in-flight requests, resolves. Does not close deps (main.ts owns them). Safe to call twice. */
  close(): Promise<void>;
}

async function pingWithin(redis: CollectorDeps['redis'], ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([redis.ping().then(() => true), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export function createCollector(deps: CollectorDeps, options: CollectorOptions): Collector {
  const metrics = createCollectorMetrics();
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  const http = createHttpServer(app, {
    shutdownGraceMs: options.shutdownGraceMs ?? 10_000,
    requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
  });

  app.get('/healthz', (_req, res) => sendText(res, 200, 'ok'));
  app.get('/readyz', async (_req, res) => {
    const ready = !http.closing && (await pingWithin(deps.redis, options.readyTimeoutMs ?? 1_000));
    sendText(res, ready ? 200 : 503, ready ? 'ready' : 'not ready: Redis is not answering');
  });
  app.get('/metrics', async (_req, res) => {
    send(res, 200, { contentType: metrics.registry.contentType, body: Buffer.from(await metrics.registry.metrics()) });
  });

  app
    .route('/v1/traces')
    .all((_req, res, next) => {
      const stop = metrics.requestDuration.startTimer();
      res.once('close', () => {
        stop();
        metrics.requests.inc({ code: res.writableFinished ? String(res.statusCode) : 'aborted' });
      });
      next();
    })
    .post(
      exportTracesHandler(
        { queue: deps.queue, keys: deps.keys, redis: deps.redis, metrics },
        {
          maxBodyBytes: options.maxBodyBytes,
          attempts: options.jobAttempts ?? 40,
          timeoutMs: options.enqueueTimeoutMs ?? 5_000,
          retryAfterMs: options.retryAfterMs ?? 5_000,
        },
      ),
    )
    .all((req, _res, next) => next(new IngestError('method_not_allowed', `${req.method} is not allowed on /v1/traces; use POST`)));

  app.use((_req, _res, next) => next(new IngestError('not_found', 'unknown path; OTLP/HTTP traces go to POST /v1/traces')));
  app.use(errorMiddleware({ log: deps.log, metrics }));

  return {
    app,
    metrics,
    listen: (port, host = '0.0.0.0') => http.listen(port, host),
    close: () => http.close(),
  };
}
