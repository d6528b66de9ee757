import {
  ConfigError,
  createClickHouse,
  createKeyCache,
  createLogger,
  createPgPool,
  createRedis,
  createSpanQueue,
  loadConfig,
  type CanopyConfig,
  type Logger,
} from '@canopy/core';
import { createCollector } from './app.js';
import { createPlanAdmit } from './quota/plan-admit.js';

/** Resolves when `promise` settles or after `ms`, whichever is first; shutdown never hangs on one dependency. */
async function bounded(log: Logger, what: string, step: { promise: Promise<unknown>; ms: number }): Promise<void> {
  const { promise, ms } = step;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    if ((await Promise.race([promise, timeout])) === 'timeout') log.warn({ what, ms }, 'gave up waiting during shutdown');
  } catch (err) {
    log.warn({ what, err: (err as Error).message }, 'error during shutdown');
  } finally {
    clearTimeout(timer);
  }
}

function readConfig(): CanopyConfig {
  try {
    return loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`canopy collector: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  const log = createLogger(config.log, 'collector');
  const pool = createPgPool(config.postgres.url, 4);
  const keys = await createKeyCache({ pool, log }, { ttlMs: config.collector.keyCacheTtlMs, negativeTtlMs: 1_000, listenUrl: config.postgres.url });
  const redis = createRedis(config.redis.url);
  let outageLogged = false;
  redis.on('ready', () => {
    outageLogged = false;
    log.info('connected to Redis');
  });
  redis.on('error', (err: Error) => {
    // ioredis reports every failed reconnect; one line per outage is enough.
    if (outageLogged) return;
    outageLogged = true;
    log.warn({ err: err.message }, 'Redis connection error; export requests get 503 until it is back');
  });
  const queue = createSpanQueue(redis, config.redis.queuePrefix);
  // Only read when a month's quota counter starts (what ClickHouse already holds for the month).
  const clickhouse = createClickHouse(config.clickhouse);
  const admit = createPlanAdmit({ pool, redis, clickhouse, log }, { prefix: config.redis.queuePrefix, planCacheTtlMs: 10_000 });
  const c = config.collector;
  const collector = createCollector(
    { queue, keys, redis, log, admit, ledger: { redis, queuePrefix: config.redis.queuePrefix } },
    {
      maxBodyBytes: c.maxBodyBytes,
      maxInflightBytes: c.maxInflightBytes,
      maxQueueDepth: c.maxQueueDepth,
      maxDecodeWaitMs: c.maxDecodeWaitMs,
      retryAfterMaxSeconds: c.retryAfterMaxSeconds,
      requestTimeoutMs: c.requestTimeoutMs,
      corsOrigins: c.corsOrigins,
      authFailuresPerMinute: c.authFailuresPerMinute,
      trustProxy: c.trustProxy,
      spanLimits: c.spanLimits,
      jobAttempts: config.worker.jobAttempts,
    },
  );

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    // Reverse order of construction: stop taking requests, then release what they used.
    log.info({ signal }, 'shutting down: finishing in-flight requests');
    await bounded(log, 'http server', { promise: collector.close(), ms: 15_000 });
    await bounded(log, 'span queue', { promise: queue.close(), ms: 5_000 });
    await bounded(log, 'redis', { promise: redis.quit(), ms: 2_000 });
    redis.disconnect();
    await bounded(log, 'clickhouse', { promise: clickhouse.close(), ms: 2_000 });
    await bounded(log, 'key cache', { promise: keys.close(), ms: 5_000 });
    await bounded(log, 'postgres pool', { promise: pool.end(), ms: 5_000 });
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  try {
    const address = await collector.listen(config.collector.port, config.collector.host);
    log.info(address, 'collector listening for OTLP/HTTP on /v1/traces');
  } catch (err) {
    log.fatal({ err: (err as Error).message, port: config.collector.port, host: config.collector.host }, 'cannot listen');
    process.exit(1);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`canopy collector: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
