import { StorageError, type ClickHouse, type Logger, type SpanBatch } from '@canopy/core';
import type { FlushReason } from './batcher.js';
import { checkStoredBatches } from './dedupe.js';
import { createFaultHooks, type WriterFault } from './faults.js';
import { insertBatches, type InsertOutcome } from './insert.js';

/** A batch waiting to be written, as one job processor handed it in. */
export interface PendingBatch {
  batch: SpanBatch;
  /** the job may have been delivered before, so its rows may already be stored */
  mayBeStored: boolean;
}

/** What became of one job's batch. */
export type WriteOutcome =
  | { status: 'ok'; alreadyStored: boolean }
  | { status: 'retryable'; error: StorageError }
  | { status: 'rejected'; error: StorageError };

/** One INSERT sent to ClickHouse. */
export interface InsertReport {
  jobs: number;
  rows: number;
  status: InsertOutcome['status'];
}

/** What one flush did; handed to `onFlush` and logged at debug. */
export interface FlushReport {
  reason: FlushReason;
  jobs: number;
  rows: number;
  bytes: number;
  /** jobs skipped because ClickHouse already held their batch */
  alreadyStored: number;
  inserts: InsertReport[];
  outcomes: Record<WriteOutcome['status'], number>;
  durationMs: number;
}

export interface BatchWriterDeps {
  clickhouse: ClickHouse;
  logger: Logger;
}

export interface BatchWriterOptions {
  /** test-only crash point; only main.ts sets it */
  fault?: WriterFault;
  /** called after every flush, e.g. by tests or metrics */
  onFlush?: (report: FlushReport) => void;
}

export type BatchWriter = (items: PendingBatch[], reason: FlushReason) => Promise<WriteOutcome[]>;

/** Jobs re-inserted one by one at once after a multi-job insert was rejected. */
const ISOLATE_CONCURRENCY = 4;

/**
 * The flush of the batcher: skips batches already stored, writes the rest in one
 * INSERT, and when ClickHouse refuses that INSERT writes each job alone, so one poison
 * batch fails only its own job.
 */
export function createBatchWriter(deps: BatchWriterDeps, options: BatchWriterOptions = {}): BatchWriter {
  const faults = createFaultHooks(options.fault ?? 'none');

  return async function write(items, reason) {
    const started = Date.now();
    const inserts: InsertReport[] = [];
    const insert = async (batches: SpanBatch[]): Promise<InsertOutcome> => {
      faults.beforeInsert();
      const outcome = await insertBatches(deps.clickhouse, batches);
      if (outcome.status === 'ok') faults.afterInsert();
      inserts.push({ jobs: batches.length, rows: batches.reduce((n, b) => n + b.spanCount, 0), status: outcome.status });
      return outcome;
    };

    const byId = await writeDistinct(items, deps, insert);
    const outcomes = items.map((i) => byId.get(i.batch.batchId) as WriteOutcome);
    const report: FlushReport = {
      reason,
      jobs: items.length,
      rows: items.reduce((n, i) => n + i.batch.spanCount, 0),
      bytes: items.reduce((n, i) => n + i.batch.bytes, 0),
      alreadyStored: outcomes.filter((o) => o.status === 'ok' && o.alreadyStored).length,
      inserts,
      outcomes: { ok: 0, retryable: 0, rejected: 0 },
      durationMs: Date.now() - started,
    };
    for (const o of outcomes) report.outcomes[o.status]++;
    logFlush(deps.logger, { report, items, outcomes });
    options.onFlush?.(report);
    return outcomes;
  };
}

async function writeDistinct(
  items: PendingBatch[],
  deps: BatchWriterDeps,
  insert: (batches: SpanBatch[]) => Promise<InsertOutcome>,
): Promise<Map<string, WriteOutcome>> {
  const result = new Map<string, WriteOutcome>();
  // The same batch twice in one flush (a redelivery racing the original) is written once.
  const distinct = new Map<string, PendingBatch>();
  for (const i of items) {
    const seen = distinct.get(i.batch.batchId);
    distinct.set(i.batch.batchId, { batch: i.batch, mayBeStored: i.mayBeStored || (seen?.mayBeStored ?? false) });
  }

  const suspects = [...distinct.values()].filter((i) => i.mayBeStored).map((i) => i.batch);
  // Batches partly stored (a cluster insert that failed on some shards) are written narrowed to their missing rows.
  let remainders = new Map<string, SpanBatch>();
  if (suspects.length > 0) {
    try {
      const checked = await checkStoredBatches(deps.clickhouse, suspects);
      for (const id of checked.stored) result.set(id, { status: 'ok', alreadyStored: true });
      remainders = checked.remainders;
    } catch (err) {
      const failed = asFailure(err);
      for (const id of distinct.keys()) result.set(id, failed);
      return result;
    }
  }

  const toInsert = [...distinct.values()].map((i) => remainders.get(i.batch.batchId) ?? i.batch).filter((b) => !result.has(b.batchId));
  if (toInsert.length === 0) return result;
  const outcome = await insert(toInsert);
  if (outcome.status !== 'rejected' || toInsert.length === 1) {
    for (const b of toInsert) result.set(b.batchId, toWriteOutcome(outcome));
    return result;
  }
  // The multi-job INSERT wrote nothing (one block, all or nothing): find the poison by writing each job alone.
  deps.logger.warn({ jobs: toInsert.length, err: outcome.error.message }, 'ClickHouse rejected a batched insert; writing each job alone');
  await forEachLimited(toInsert, ISOLATE_CONCURRENCY, async (b) => {
    result.set(b.batchId, toWriteOutcome(await insert([b])));
  });
  return result;
}

function toWriteOutcome(outcome: InsertOutcome): WriteOutcome {
  return outcome.status === 'ok' ? { status: 'ok', alreadyStored: false } : outcome;
}

/** The dedupe query failed: a StorageError keeps its class; anything else is a bug and is rethrown. */
function asFailure(err: unknown): WriteOutcome {
  if (!(err instanceof StorageError)) throw err;
  return err.code === 'clickhouse_unavailable' ? { status: 'retryable', error: err } : { status: 'rejected', error: err };
}

async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

function logFlush(logger: Logger, flush: { report: FlushReport; items: PendingBatch[]; outcomes: WriteOutcome[] }): void {
  const { report, items, outcomes } = flush;
  const { reason, jobs, rows, bytes, alreadyStored, durationMs } = report;
  const inserts = report.inserts.map((i) => `${i.rows} rows/${i.jobs} jobs ${i.status}`).join(', ') || 'none';
  logger.debug(
    { reason, jobs, rows, bytes, alreadyStored, inserts: report.inserts.length, durationMs, ...report.outcomes },
    `flush (${reason}): ${jobs} jobs, ${rows} rows, ${bytes} bytes, ${alreadyStored} already stored; inserts: ${inserts}; ${durationMs} ms`,
  );
  const retryable = outcomes.find((o) => o.status === 'retryable');
  if (retryable) {
    const { code, message } = retryable.error;
    logger.warn({ jobs: report.outcomes.retryable, code, err: message }, `ClickHouse unavailable; ${report.outcomes.retryable} jobs will be retried`);
  }
  outcomes.forEach((o, i) => {
    if (o.status !== 'rejected') return;
    const { batchId, orgId, workspaceId, spanCount } = (items[i] as PendingBatch).batch;
    logger.error({ batchId, orgId, workspaceId, spans: spanCount, code: o.error.code, err: o.error.message }, `ClickHouse rejected batch ${batchId}`);
  });
}
