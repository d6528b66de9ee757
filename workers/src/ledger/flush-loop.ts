import { flushLedger, pruneLedgerFlushes, type Logger, type PgPool, type RedisClient } from '@canopy/core';
import type { WorkerMetrics } from '../metrics.js';

export interface LedgerFlushLoopDeps {
  redis: RedisClient;
  pool: PgPool;
  logger: Logger;
  metrics?: Pick<WorkerMetrics, 'ledgerFlushes' | 'ledgerFailures'>;
}

export interface LedgerFlushLoopOptions {
  queuePrefix: string;
  intervalMs: number;
  /** applied flush ids are forgotten after this long (default 3 days) */
  keepFlushIdsMs?: number;
  /** how often old flush ids are pruned (default 1 h) */
  pruneEveryMs?: number;
}

export interface LedgerFlushLoop {
  /** Stops the loop and waits for the flush in progress; counters left in Redis wait for the next worker. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Every worker runs this: the ingest ledger's Redis counters reach Postgres within about
 * one interval. Flushes from several workers at once are safe (see core ledger-flush.ts).
 */
export function createLedgerFlushLoop(deps: LedgerFlushLoopDeps, options: LedgerFlushLoopOptions): LedgerFlushLoop {
  const { logger, metrics } = deps;
  const keepMs = options.keepFlushIdsMs ?? 3 * 86_400_000;
  const pruneEveryMs = options.pruneEveryMs ?? 3_600_000;
  let lastPrune = 0;
  let failing = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> | undefined;

  async function once(): Promise<void> {
    try {
      const report = await flushLedger({ redis: deps.redis, pool: deps.pool }, options.queuePrefix);
      if (report.applied) metrics?.ledgerFlushes.inc({ outcome: 'applied' }, report.applied);
      if (report.alreadyApplied) metrics?.ledgerFlushes.inc({ outcome: 'already_applied' }, report.alreadyApplied);
      if (report.unknownFields) logger.warn({ unknownFields: report.unknownFields }, 'ingest ledger: skipped counter fields this version does not know');
      if (failing) logger.info('ingest ledger flush works again');
      failing = false;
      if (Date.now() - lastPrune >= pruneEveryMs) {
        lastPrune = Date.now();
        await pruneLedgerFlushes(deps.pool, keepMs);
      }
    } catch (err) {
      metrics?.ledgerFailures.inc({ step: 'flush' });
      // Counters stay in Redis and the next flush takes them; one line per outage is enough.
      if (!failing) logger.warn({ err: (err as Error).message }, `ingest ledger flush failed; retrying every ${options.intervalMs} ms: ${(err as Error).message}`);
      failing = true;
    }
  }

  function schedule(): void {
    timer = setTimeout(() => {
      current = once().finally(() => {
        current = undefined;
        if (!stopped) schedule();
      });
    }, options.intervalMs);
  }
  schedule();

  let closing: Promise<void> | undefined;
  return {
    close: () =>
      (closing ??= (async () => {
        stopped = true;
        clearTimeout(timer);
        await current;
      })()),
  };
}
