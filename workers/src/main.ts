import { ConfigError, createClickHouse, createLogger, createPgPool, createRedis, createSpanQueue, loadConfig, type CanopyConfig, type Logger } from '@canopy/core';
import { createDeadLetterKeeper } from './dead-letters/keep.js';
import { createFailedJobSweep } from './dead-letters/sweep.js';
import { startLedgerServices } from './ledger/start.js';
import { runPricing } from './pricing/job.js';
import { runRetention } from './retention/purge.js';
import { createRetentionSchedule, type RetentionSchedule } from './retention/schedule.js';
import { createSpanWriter } from './span-writer.js';

/** Longest wait for the active jobs' inserts at shutdown; what is unfinished then is redelivered from Redis. */
const DRAIN_MS = 20_000;
/** How often closed days' GenAI costs are priced and caught up (at most once per interval across all workers). */
const PRICING_INTERVAL_MS = 15 * 60_000;
/** How often BullMQ's failed set is swept into dead letters (also once at start). */
const FAILED_JOB_SWEEP_MS = 5 * 60_000;

/** Resolves when `promise` settles or after `ms`, whichever is first; shutdown never hangs on one dependency. */
async function bounded(log: Logger, what: string, step: { promise: Promise<unknown>; ms: number }): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), step.ms);
  });
  try {
    if ((await Promise.race([step.promise, timeout])) !== 'timeout') return true;
    log.warn({ what, ms: step.ms }, `gave up waiting for ${what} during shutdown`);
  } catch (err) {
    log.warn({ what, err: (err as Error).message }, `error closing ${what} during shutdown`);
  } finally {
    clearTimeout(timer);
  }
  return false;
}

async function main(): Promise<void> {
  let config: CanopyConfig;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  const logger = createLogger(config.log, 'workers');
  const clickhouse = createClickHouse(config.clickhouse);
  const redis = createRedis(config.redis.url, { forWorker: true });
  let outageLogged = false;
  redis.on('ready', () => (outageLogged = false));
  redis.on('error', (err: Error) => {
    // ioredis reports every failed reconnect; one line per outage is enough.
    if (outageLogged) return;
    outageLogged = true;
    logger.warn({ err: err.message }, `Redis connection error: ${err.message}`);
  });
  const pool = createPgPool(config.postgres.url, 2);
  void clickhouse.ping().then((up) => {
    if (!up) logger.warn(`ClickHouse is not answering at ${config.clickhouse.url}; jobs wait until it does`);
  });

  // Batches ClickHouse refuses on their last attempt become dead letters in Postgres.
  const deadLetters = createDeadLetterKeeper({ pool, redis, clickhouse, logger }, { queuePrefix: config.redis.queuePrefix });
  const writer = createSpanWriter(
    { clickhouse, connection: redis, logger, deadLetters, ledgerRedis: redis },
    {
      queuePrefix: config.redis.queuePrefix,
      concurrency: config.worker.concurrency,
      batchMaxRows: config.worker.batchMaxRows,
      batchMaxBytes: config.worker.batchMaxBytes,
      batchMaxWaitMs: config.worker.batchMaxWaitMs,
      lockDurationMs: config.worker.lockDurationMs,
      stalledIntervalMs: config.worker.stalledIntervalMs,
      maxStalledCount: config.worker.maxStalledCount,
      fault: config.worker.fault,
    },
  );
  logger.info(
    { queuePrefix: config.redis.queuePrefix, concurrency: config.worker.concurrency, fault: config.worker.fault },
    `span writer consuming queue ${config.redis.queuePrefix}:spans into ClickHouse database ${config.clickhouse.database}`,
  );

  // Jobs BullMQ kept as failed (refused before dead letters existed, or stalled too often) become dead letters too.
  const failedJobs = createSpanQueue(redis, config.redis.queuePrefix);
  const sweep = createFailedJobSweep({ queue: failedJobs.queue, deadLetters, logger }, { intervalMs: FAILED_JOB_SWEEP_MS });

  const intervalMs = config.worker.retentionIntervalMs;
  let retention: RetentionSchedule | undefined;
  if (intervalMs > 0) {
    retention = createRetentionSchedule(
      {
        redis,
        logger,
        // The wait for DELETE mutations stays well inside the interval, so runs never overlap.
        run: (now, signal) => runRetention({ clickhouse, pool, logger }, { now, signal, mutationTimeoutMs: Math.min(600_000, intervalMs / 2) }),
      },
      { intervalMs, lockKey: `${config.redis.queuePrefix}:retention:claim` },
    );
    logger.info({ intervalMs }, `retention runs at most once per ${Math.round(intervalMs / 60_000)} min across all workers`);
  }

  // Stores the GenAI cost of each closed day with the price version current then, and
  // catches up days whose spans arrived after they were priced (workers/src/pricing/job.ts).
  const pricing = createRetentionSchedule(
    { redis, logger, run: (now, signal) => runPricing({ clickhouse, pool, logger }, { now, signal }) },
    { intervalMs: PRICING_INTERVAL_MS, lockKey: `${config.redis.queuePrefix}:pricing:claim`, name: 'pricing' },
  );

  // The ingest ledger: collectors' counters flushed to Postgres, reconciliation, /metrics.
  const ledger = await startLedgerServices({ redis, pool, clickhouse, logger }, config);

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: finishing active jobs`);
    // Reverse order of construction. The writer flushes through ClickHouse and acks through
    // Redis; each step is bounded, and jobs left unacknowledged are redelivered (and found
    // already stored when their insert did land).
    // Without Redis no job can be acknowledged, so waiting for the active ones buys nothing.
    const drainMs = redis.status === 'ready' ? DRAIN_MS : 2_000;
    const drained = await bounded(logger, 'active jobs', { promise: Promise.all([writer.close(), retention?.close(), pricing.close(), ledger.close(), sweep.close().then(() => failedJobs.close())]), ms: drainMs });
    await bounded(logger, 'postgres pool', { promise: pool.end(), ms: 2_000 });
    await bounded(logger, 'clickhouse', { promise: clickhouse.close(), ms: 2_000 });
    await bounded(logger, 'redis', { promise: redis.quit(), ms: 2_000 });
    redis.disconnect();
    logger.info(drained ? 'stopped' : 'stopped; unfinished jobs will be redelivered');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`workers failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
