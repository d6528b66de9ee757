import { ConfigError, createClickHouse, createLogger, createRedis, loadConfig, type CanopyConfig } from '@canopy/core';
import { createSpanWriter } from './span-writer.js';

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
  redis.on('error', (err: Error) => logger.warn({ err: err.message }, `Redis connection error: ${err.message}`));
  if (!(await clickhouse.ping())) logger.warn(`ClickHouse is not answering at ${config.clickhouse.url}; jobs wait until it does`);

  const writer = createSpanWriter(
    { clickhouse, connection: redis, logger },
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

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: finishing active jobs`);
    try {
      // Reverse order of construction: the writer flushes through ClickHouse and acks through Redis.
      await writer.close();
      await clickhouse.close();
      await redis.quit();
      logger.info('stopped');
      process.exit(0);
    } catch (err) {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`workers failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
