import type { CanopyConfig, ClickHouse, Logger, PgPool, RedisClient } from '@canopy/core';
import { createWorkerMetrics, serveMetrics } from '../metrics.js';
import { createRetentionSchedule } from '../retention/schedule.js';
import { createLedgerFlushLoop } from './flush-loop.js';
import { reconcileLedger } from './reconcile.js';

export interface LedgerServicesDeps {
  redis: RedisClient;
  pool: PgPool;
  clickhouse: ClickHouse;
  logger: Logger;
}

export interface LedgerServices {
  /** Stops the loops and the metrics server; waits for runs in progress. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * What a worker process runs for the ingest ledger: the flush of the collectors' counters
 * (every worker), the reconciliation (one worker per interval, claimed in Redis like
 * retention), and the /metrics endpoint that shows both.
 */
export async function startLedgerServices(deps: LedgerServicesDeps, config: Pick<CanopyConfig, 'ledger' | 'worker' | 'redis'>): Promise<LedgerServices> {
  const { logger } = deps;
  const queuePrefix = config.redis.queuePrefix;
  const metrics = createWorkerMetrics();
  const server = config.worker.metricsPort > 0 ? await serveMetrics({ registry: metrics.registry, logger }, { port: config.worker.metricsPort }) : undefined;
  const { flushIntervalMs, reconcileIntervalMs, settleMs, recheckMs } = config.ledger;
  const flush = flushIntervalMs > 0 ? createLedgerFlushLoop({ ...deps, metrics }, { queuePrefix, intervalMs: flushIntervalMs }) : undefined;
  const reconcile =
    reconcileIntervalMs > 0
      ? createRetentionSchedule(
          {
            redis: deps.redis,
            logger,
            run: async (now) => {
              try {
                await reconcileLedger({ ...deps, metrics }, { queuePrefix, settleMs, recheckMs, now });
              } catch (err) {
                metrics.ledgerFailures.inc({ step: 'reconcile' });
                throw err;
              }
            },
          },
          {
            intervalMs: reconcileIntervalMs,
            lockKey: `${queuePrefix}:ledger:reconcile:claim`,
            name: 'ingest ledger reconciliation',
            checkEveryMs: Math.max(1_000, Math.floor(reconcileIntervalMs / 3)),
          },
        )
      : undefined;
  logger.info(
    { flushIntervalMs, reconcileIntervalMs, settleMs, metricsPort: config.worker.metricsPort },
    `ingest ledger: flush every ${flushIntervalMs} ms, reconciliation at most every ${reconcileIntervalMs} ms across all workers`,
  );
  let closing: Promise<void> | undefined;
  return {
    close: () => (closing ??= Promise.all([flush?.close(), reconcile?.close()]).then(() => server?.close())),
  };
}
