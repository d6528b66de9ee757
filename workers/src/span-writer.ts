import { Worker, type ConnectionOptions } from 'bullmq';
import { SPANS_QUEUE, StorageError, cappedBackoffMs, settleStoredBatches, type ClickHouse, type Logger, type RedisClient } from '@canopy/core';
import { processSpanJob, type DeadLetterSink, type SpanJobResult } from './processor.js';
import { createBatcher } from './writer/batcher.js';
import type { WriterFault } from './writer/faults.js';
import { createBatchWriter, type FlushReport, type PendingBatch, type WriteOutcome } from './writer/write.js';

export interface SpanWriterDeps {
  clickhouse: ClickHouse;
  /** an ioredis connection made with `createRedis(url, { forWorker: true })`; the caller closes it */
  connection: ConnectionOptions;
  logger: Logger;
  /** keeps batches refused on their last attempt (dead-letters/keep.ts); without it they stay in BullMQ's failed set */
  deadLetters?: DeadLetterSink;
  /** where the ingest ledger's pending batches live (the queue's Redis); absent: stored batches are not settled in the ledger */
  ledgerRedis?: RedisClient;
}

export interface SpanWriterOptions {
  queuePrefix: string;
  /** jobs held at once; also the most jobs one INSERT can carry */
  concurrency: number;
  batchMaxRows: number;
  batchMaxBytes: number;
  batchMaxWaitMs: number;
  /** how long a job stays ours without a lock renewal; default 60 s, far above a slow insert */
  lockDurationMs?: number;
  /** how often jobs of dead workers are looked for; default 30 s */
  stalledIntervalMs?: number;
  /** stalls after which a job is failed instead of retried; default 5, so crash loops end but one crash never fails a batch */
  maxStalledCount?: number;
  /** test-only crash point; only main.ts passes it */
  fault?: WriterFault;
  onFlush?: (report: FlushReport) => void;
}

export interface SpanWriter {
  /** Stops taking jobs, flushes what is pending, waits for active jobs. Safe to call twice. */
  close(): Promise<void>;
}

export const DEFAULT_LOCK_DURATION_MS = 60_000;
export const DEFAULT_STALLED_INTERVAL_MS = 30_000;
export const DEFAULT_MAX_STALLED_COUNT = 5;

/** The ClickHouse writer: a BullMQ worker on the spans queue whose jobs share batched inserts. */
export function createSpanWriter(deps: SpanWriterDeps, options: SpanWriterOptions): SpanWriter {
  const { logger } = deps;
  const batcher = createBatcher<PendingBatch, WriteOutcome>({
    maxRows: options.batchMaxRows,
    maxBytes: options.batchMaxBytes,
    maxWaitMs: options.batchMaxWaitMs,
    maxItems: options.concurrency,
    measure: (p) => ({ rows: p.batch.spanCount, bytes: p.batch.bytes }),
    flush: createBatchWriter({ clickhouse: deps.clickhouse, logger }, { fault: options.fault, onFlush: options.onFlush }),
  });

  // One backoff for the whole worker, from how long ClickHouse has been unavailable: every
  // job fails together in an outage, so a per-job count would grow with the backlog.
  let unavailableSince: number | null = null;
  const unavailableDelayMs = (): number => {
    unavailableSince ??= Date.now();
    return Math.min(30_000, Math.max(500, (Date.now() - unavailableSince) / 2));
  };
  const batcherWithStreak: typeof batcher = {
    submit: async (item: PendingBatch): Promise<WriteOutcome> => {
      const outcome = await batcher.submit(item);
      if (outcome.status === 'ok') {
        unavailableSince = null;
        // Stored (now or before): no longer pending, and counted as accepted if the collector could not.
        if (deps.ledgerRedis) {
          try {
            await settleStoredBatches(deps.ledgerRedis, options.queuePrefix, [item.batch]);
          } catch (err) {
            // Neither complete the job (it would never be settled) nor fail it (on its last attempt
            // that leaves a stored batch in the failed set, for the sweep): put it back without
            // spending an attempt; the next delivery finds the batch stored and settles it then.
            return { status: 'retryable', error: new StorageError('queue_unavailable', `batch ${item.batch.batchId} is stored but cannot be settled in the ledger: ${(err as Error).message}`, { cause: err }) };
          }
        }
      }
      return outcome;
    },
    close: () => batcher.close(),
    get pendingItems() {
      return batcher.pendingItems;
    },
  };
  const worker = new Worker<unknown, SpanJobResult>(
    SPANS_QUEUE,
    (job, token) =>
      processSpanJob(
        {
          id: job.id,
          data: job.data,
          attemptsStarted: job.attemptsStarted,
          attemptsMade: job.attemptsMade,
          stalledCounter: job.stalledCounter,
          attempts: job.opts.attempts ?? 1,
          delay: (untilMs) => job.moveToDelayed(untilMs, token),
        },
        { batcher: batcherWithStreak, unavailableDelayMs, ...(deps.deadLetters ? { deadLetters: deps.deadLetters } : {}) },
      ),
    {
    connection: deps.connection,
    prefix: options.queuePrefix,
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs ?? DEFAULT_LOCK_DURATION_MS,
    stalledInterval: options.stalledIntervalMs ?? DEFAULT_STALLED_INTERVAL_MS,
    maxStalledCount: options.maxStalledCount ?? DEFAULT_MAX_STALLED_COUNT,
    // The collector adds jobs with backoff { type: 'capped' }; it is defined here, where retries happen.
    settings: { backoffStrategy: (attemptsMade: number) => cappedBackoffMs(attemptsMade) },
  },
  );
  worker.on('error', (err) => logger.error({ err }, `queue worker error: ${err.message}`));
  worker.on('stalled', (jobId) => logger.warn({ jobId }, `job ${jobId} stalled; it will be delivered again`));
  worker.on('failed', (job, err) => {
    const attempts = job ? `${job.attemptsMade}/${job.opts.attempts ?? 1}` : '?';
    logger.warn({ jobId: job?.id, attempts, code: (err as { code?: unknown }).code, err: err.message }, `job ${job?.id ?? '?'} failed (attempt ${attempts}): ${err.message}`);
  });

  let closing: Promise<void> | undefined;
  async function shutdown(): Promise<void> {
    const workerClosed = worker.close();
    // No more jobs will arrive: flush what the active jobs are waiting on instead of letting them sit out the timer.
    await batcher.close();
    await workerClosed;
    await batcher.close();
  }
  return {
    close: () => (closing ??= shutdown()),
  };
}
