import express, { type Express } from 'express';
import { DEFAULT_SPAN_LIMITS, createHttpServer, type KeyCache, type Logger, type RedisClient, type SpanLimits, type SpanQueue } from '@canopy/core';
import { createAuthFailureLimiter } from './auth/failures.js';
import { admitAll, type Admit } from './backpressure/admit.js';
import { createCpuQueue } from './backpressure/cpu-queue.js';
import { createInflightBytes } from './backpressure/inflight.js';
import { watchLoopDelay } from './backpressure/loop-delay.js';
import { createRetryAfter } from './backpressure/retry-after.js';
import { createLoadShedder } from './backpressure/shedder.js';
import { IngestError } from './errors.js';
import type { BatchQueue } from './enqueue/enqueue.js';
import { createIngestLedger } from './enqueue/ledger.js';
import { exportTracesHandler } from './export.js';
import { createCollectorMetrics, type CollectorMetrics } from './metrics.js';
import { corsMiddleware, type CorsOrigins } from './receive/cors.js';
import { errorMiddleware } from './respond/errors.js';
import { send, sendText } from './respond/send.js';

/** Everything the collector talks to, built by main.ts (or a test) and passed in. */
export interface CollectorDeps {
  /** `depth` (optional for fakes) lets the collector refuse work while the queue is too deep */
  queue: BatchQueue & Partial<Pick<SpanQueue, 'depth'>>;
  keys: Pick<KeyCache, 'resolve'>;
  /** the queue's Redis connection (ioredis): `status` gates enqueues, `ping` answers /readyz */
  redis: { readonly status: string; ping(): Promise<unknown> };
  log: Logger;
  /** quota / per-tenant rate hook, asked before each enqueue (default: admit everything) */
  admit?: Admit;
  /** the ingest ledger's Redis (the queue's connection) and key prefix; absent: nothing is counted */
  ledger?: { redis: RedisClient; queuePrefix: string };
}

export interface CollectorOptions {
  /** largest body accepted, after decompression */
  maxBodyBytes: number;
  /** memory all in-progress requests may hold together: bodies, then batches waiting for Redis (default 128 MiB, at least maxBodyBytes) */
  maxInflightBytes?: number;
  /** queued jobs (waiting + delayed) above which requests get 503 (default 5000) */
  maxQueueDepth?: number;
  /** how long one queue depth reading is used (default 250) */
  queueDepthCacheMs?: number;
  /** estimated wait for the decode queue above which requests get 503 before their body is read (default 1000) */
  maxDecodeWaitMs?: number;
  /** 503/429 answers carry a Retry-After of 1…this many seconds, at random (default 5) */
  retryAfterMaxSeconds?: number;
  /** browser origins allowed by CORS: `*` or a list; empty or absent sends no CORS headers */
  corsOrigins?: CorsOrigins;
  /** failed authentications per client IP per minute before 429 (default 60; 0 = off) */
  authFailuresPerMinute?: number;
  /** Express `trust proxy`: whose X-Forwarded-For names the client (default false) */
  trustProxy?: boolean | number | string;
  /** per-span limits applied by normalization (default DEFAULT_SPAN_LIMITS) */
  spanLimits?: SpanLimits;
  /** BullMQ attempts per batch (default 40) */
  jobAttempts?: number;
  /** longest wait for Redis to take a batch before answering 503 (default 5000) */
  enqueueTimeoutMs?: number;
  /** longest wait for Redis PING on /readyz (default 1000) */
  readyTimeoutMs?: number;
  /** how long close() waits for in-flight requests (default 10000) */
  shutdownGraceMs?: number;
  /** longest a single request may take to arrive, body included (default 60000) */
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
  const inflight = createInflightBytes(Math.max(options.maxInflightBytes ?? 128 * 1024 * 1024, options.maxBodyBytes));
  const retryAfter = createRetryAfter({ minSeconds: 1, maxSeconds: options.retryAfterMaxSeconds ?? 5 });
  const cpu = createCpuQueue();
  const loopDelay = watchLoopDelay();
  const shedder = createLoadShedder(
    { redis: deps.redis, queue: deps.queue, inflight, cpu, retryAfter },
    { maxQueueDepth: options.maxQueueDepth ?? 5_000, depthCacheMs: options.queueDepthCacheMs ?? 250, maxDecodeWaitMs: options.maxDecodeWaitMs ?? 1_000 },
  );
  const authFailures = createAuthFailureLimiter({ maxPerMinute: options.authFailuresPerMinute ?? 60 });
  const metrics = createCollectorMetrics({ inflightBytes: () => inflight.used, queueDepth: () => shedder.queueDepth, loopDelayMs: () => loopDelay.ms, decodeWaitMs: () => cpu.waitMs });
  const ledger = deps.ledger ? createIngestLedger({ redis: deps.ledger.redis, log: deps.log, registry: metrics.registry }, { queuePrefix: deps.ledger.queuePrefix }) : undefined;
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('trust proxy', options.trustProxy ?? false);
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

  const traces = app.route('/v1/traces').all((_req, res, next) => {
    const stop = metrics.requestDuration.startTimer();
    res.once('close', () => {
      stop();
      metrics.requests.inc({ code: res.writableFinished ? String(res.statusCode) : 'aborted' });
    });
    next();
  });
  const cors = options.corsOrigins;
  if (cors === '*' || (cors && cors.length > 0)) traces.all(corsMiddleware(cors));
  traces
    .post(
      exportTracesHandler(
        { queue: deps.queue, keys: deps.keys, redis: deps.redis, metrics, shedder, cpu, inflight, authFailures, admit: deps.admit ?? admitAll, retryAfter, ledger },
        {
          maxBodyBytes: options.maxBodyBytes,
          spanLimits: options.spanLimits ?? DEFAULT_SPAN_LIMITS,
          attempts: options.jobAttempts ?? 40,
          timeoutMs: options.enqueueTimeoutMs ?? 5_000,
        },
      ),
    )
    .all((req, _res, next) => next(new IngestError('method_not_allowed', `${req.method} is not allowed on /v1/traces; use POST`)));

  app.use((_req, _res, next) => next(new IngestError('not_found', 'unknown path; OTLP/HTTP traces go to POST /v1/traces')));
  app.use(errorMiddleware({ log: deps.log, metrics, retryAfter }));

  return {
    app,
    metrics,
    listen: (port, host = '0.0.0.0') => http.listen(port, host),
    close: () => {
      loopDelay.stop();
      return http.close();
    },
  };
}
